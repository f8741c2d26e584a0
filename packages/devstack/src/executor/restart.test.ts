// Restart durability: runs continue from the database after the executor stops and starts
// again; a step whose result was recorded (by a checkpoint or a response) never runs again.
import { migratedDatabase, testLanes } from "@callflow/db/testing";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import type { ExecutorLogLine } from "./log.ts";
import { startDevExecutor } from "./start-executor.ts";
import { clientOf, endedRuns, eventually, FAST_BACKOFF, newKeys, runsOf, serveApp, syncApp } from "./test-app.ts";

describe.each(testLanes())("a restart of the executor (%s)", (lane) => {
  it("continues runs from the database: waits keep waiting, timers fire, recorded steps do not run again", async () => {
    const scratch = await migratedDatabase(lane);
    const keys = newKeys();
    const counts = { before: 0, after: 0, napped: 0 };
    const start = (port = 0) =>
      startDevExecutor({ database: scratch.database, ...keys, backoffScale: FAST_BACKOFF, port });
    let executor = await start();
    const port = Number(new URL(executor.url).port);
    const client = clientOf(executor.url, "restart", keys);
    const waits = client.createFunction({ id: "waits", triggers: [{ event: "restart/start" }] }, async ({ step }) => {
      const ticket = await step.run("before", () => {
        counts.before++;
        return `ticket-${counts.before}`;
      });
      const go = await step.waitForEvent("wait-go", { event: "restart/go", timeout: "30s", match: "data.ticket" });
      return step.run("after", () => {
        counts.after++;
        return { ticket, go: go?.data.note ?? null };
      });
    });
    const naps = client.createFunction({ id: "naps", triggers: [{ event: "restart/nap" }] }, async ({ step }) => {
      await step.sleep("nap", "1s");
      return step.run("woke", () => {
        counts.napped++;
        return "woke";
      });
    });
    const app = await serveApp(client, [waits, naps]);
    try {
      expect((await syncApp(app.url)).status).toBe(200);
      await client.send([
        { name: "restart/start", data: { ticket: "ticket-1" } },
        { name: "restart/nap", data: {} },
      ]);
      await eventually(async () => {
        const runs = await executor.runs();
        return runs.length === 2 && runs.every((run) => run.status === "waiting" || run.status === "sleeping");
      });
      await executor.stop();

      // The sleep falls due while nothing runs.
      await new Promise((resolve) => setTimeout(resolve, 1200));
      executor = await start(port);
      const napped = await endedRuns(executor, "restart-naps");
      expect(napped[0]).toMatchObject({ status: "completed", output: "woke" });
      expect((await runsOf(executor, "restart-waits"))[0]?.status).toBe("waiting");

      // No sync after the restart: the functions were stored.
      await client.send({ name: "restart/go", data: { ticket: "ticket-1", note: "after the restart" } });
      const [run] = await endedRuns(executor, "restart-waits");
      expect(run).toMatchObject({ status: "completed", output: { ticket: "ticket-1", go: "after the restart" } });
      expect(counts).toEqual({ before: 1, after: 1, napped: 1 });
    } finally {
      await executor.stop();
      await app.stop();
      await scratch.dispose();
    }
  });

  it("keeps checkpointed steps across a restart mid-call, and refuses the stale call's late checkpoint", async () => {
    const scratch = await migratedDatabase(lane);
    const keys = newKeys();
    const lines: ExecutorLogLine[] = [];
    const start = (port = 0) =>
      startDevExecutor({
        database: scratch.database,
        ...keys,
        backoffScale: FAST_BACKOFF,
        port,
        log: (line) => lines.push(line),
      });
    let executor = await start();
    const port = Number(new URL(executor.url).port);
    const client = clientOf(executor.url, "interrupted", keys);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const calls = { first: 0, second: 0, slow: 0 };
    const fn = client.createFunction({ id: "slow", triggers: [{ event: "slow/start" }] }, async ({ step }) => {
      await step.run("first", () => ++calls.first);
      await step.run("second", () => ++calls.second);
      return step.run("slow", async () => {
        calls.slow++;
        if (calls.slow === 1) await gate;
        return "done";
      });
    });
    const app = await serveApp(client, [fn]);
    try {
      expect((await syncApp(app.url)).status).toBe(200);
      await client.send({ name: "slow/start", data: {} });
      await eventually(async () => calls.slow === 1);
      await executor.stop();
      // The two checkpointed steps are in the database; the run still has a call to make.
      const recorded = await sql<{ steps: number; status: string }>`
        select (select count(*)::int from devstack.inngest_steps) as steps, status
        from devstack.inngest_runs`.execute(scratch.database.owner);
      expect(recorded.rows).toEqual([{ steps: 2, status: "pending" }]);

      executor = await start(port);
      // The interrupted call finishes its step now and checkpoints it to the new executor: stale.
      release();
      const [run] = await endedRuns(executor, "interrupted-slow");
      expect(run).toMatchObject({ status: "completed", output: "done", steps: 3 });
      expect(calls).toEqual({ first: 1, second: 1, slow: 2 });
      await eventually(async () => lines.some((line) => line.msg === "stale checkpoint refused"));
    } finally {
      await executor.stop();
      await app.stop();
      await scratch.dispose();
    }
  });

  it("waits for an app that is restarting, without using up the run's attempts", async () => {
    const scratch = await migratedDatabase(lane);
    const keys = newKeys();
    const executor = await startDevExecutor({ database: scratch.database, ...keys, backoffScale: FAST_BACKOFF });
    const client = clientOf(executor.url, "restarting", keys);
    const fn = client.createFunction(
      { id: "once", triggers: [{ event: "restarting/go" }], retries: 0 },
      async ({ step }) => step.run("work", () => "done"),
    );
    let app = await serveApp(client, [fn]);
    try {
      expect((await syncApp(app.url)).status).toBe(200);
      const port = Number(new URL(app.url).port);
      await app.stop();
      await client.send({ name: "restarting/go", data: {} });
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect((await runsOf(executor, "restarting-once"))[0]).toMatchObject({ status: "pending", attempt: 0 });
      app = await serveApp(client, [fn], port);
      const [run] = await endedRuns(executor, "restarting-once");
      expect(run).toMatchObject({ status: "completed", output: "done" });
    } finally {
      await executor.stop();
      await app.stop();
      await scratch.dispose();
    }
  });
});
