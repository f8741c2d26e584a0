// What one completed run of a 3-step function costs the executor's store (statements and
// transactions, counted at the executor's own database handle) and the app (requests).
// Prints `figure` lines; the bounds catch a regression to per-step transactions. The
// executor before its rebuild (one call per step, no checkpointing) measured 12 statements,
// 9 transactions and 4 app requests here; checkpointed, 7, 5 and 1; with the event stored,
// its run created and its waits found in one statement, 5, 5 and 1: the event, a
// checkpoint per step, and the run's end.
import { randomBytes } from "node:crypto";
import { migratedDatabase, testLanes } from "@callflow/db/testing";
import { Inngest } from "inngest";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { countingDatabase } from "./counting-database.ts";
import { startDevExecutor } from "./start-executor.ts";
import { eventually, quietLogger, serveApp, syncApp } from "./test-app.ts";

const RUNS = 5;

describe.each(testLanes())("store work per run (%s)", (lane) => {
  it("a 3-step run costs a bounded number of statements and transactions", async () => {
    const scratch = await migratedDatabase(lane);
    const counting = countingDatabase(scratch.database);
    const signingKey = `signkey-test-${randomBytes(32).toString("hex")}`;
    const eventKey = "cost-event-key";
    const executor = await startDevExecutor({ database: counting.database, signingKey, eventKey });
    const client = new Inngest({
      id: "cost",
      isDev: false,
      logger: quietLogger,
      signingKey,
      eventKey,
      baseUrl: executor.url,
    });
    const ran: Record<string, number> = {};
    const fn = client.createFunction({ id: "three", triggers: [{ event: "cost/go" }] }, async ({ step, event }) => {
      const n = event.data.n as number;
      const a = await step.run("a", () => {
        ran[`a${n}`] = (ran[`a${n}`] ?? 0) + 1;
        return n;
      });
      const b = await step.run("b", () => a + 1);
      return step.run("c", () => b + 1);
    });
    const app = await serveApp(client, [fn]);
    const completed = async (count: number) => {
      const result = await sql<{ n: number }>`
        select count(*)::int as n from devstack.inngest_runs where status = 'completed'`.execute(
        scratch.database.owner,
      );
      return (result.rows[0]?.n ?? 0) >= count;
    };
    try {
      expect((await syncApp(app.url)).status).toBe(200);
      // A first run warms up the paths (JIT, the SDK's imports); then measure.
      await client.send({ name: "cost/go", data: { n: 0 } });
      await eventually(() => completed(1));
      await new Promise((resolve) => setTimeout(resolve, 200));
      counting.reset();
      const callsBefore = app.calls();
      for (let n = 1; n <= RUNS; n++) {
        await client.send({ name: "cost/go", data: { n } });
        await eventually(() => completed(n + 1));
      }
      // Let the scheduler's trailing pass land in the count.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const statements = counting.counts.statements / RUNS;
      const transactions = counting.counts.transactions / RUNS;
      const requests = (app.calls() - callsBefore) / RUNS;
      console.log(`figure executor-statements-per-3-step-run-${lane} ${statements.toFixed(1)} statements`);
      console.log(`figure executor-transactions-per-3-step-run-${lane} ${transactions.toFixed(1)} transactions`);
      console.log(`figure executor-app-requests-per-3-step-run-${lane} ${requests.toFixed(1)} requests`);
      for (let n = 1; n <= RUNS; n++) expect(ran[`a${n}`]).toBe(1);
      expect(statements).toBeLessThanOrEqual(5);
      expect(transactions).toBeLessThanOrEqual(5);
      expect(requests).toBe(1);
    } finally {
      await executor.stop();
      await app.stop();
      await scratch.dispose();
    }
  });
});
