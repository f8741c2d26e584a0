// Cron triggers in the local executor, on a clock the test moves: a tick starts one run with
// Inngest's `inngest/scheduled.timer` event; two executors on one database start it once;
// after downtime only the latest missed tick runs, once.
import { migratedDatabase, testLanes } from "@callflow/db/testing";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { type DevExecutor, startDevExecutor } from "./start-executor.ts";
import { clientOf, endedRuns, eventually, FAST_BACKOFF, newKeys, runsOf, serveApp, syncApp } from "./test-app.ts";

const at = (iso: string) => Date.parse(iso);

describe.each(testLanes())("cron triggers (%s)", (lane) => {
  it("start one run a tick, across two executors and a restart, with no catch-up after downtime", async () => {
    const scratch = await migratedDatabase(lane);
    const keys = newKeys();
    let clock = at("2026-12-01T10:02:00Z");
    const start = () =>
      startDevExecutor({
        database: scratch.database,
        ...keys,
        backoffScale: FAST_BACKOFF,
        cronClock: () => clock,
        cronCheckMs: 20,
      });
    const executors: DevExecutor[] = [await start()];
    const first = executors[0] as DevExecutor;
    const client = clientOf(first.url, "cron", keys);
    const seen: Array<{ name: string; cron: unknown }> = [];
    const ticking = client.createFunction({ id: "ticking", triggers: [{ cron: "*/5 * * * *" }] }, async ({ event }) => {
      seen.push({ name: event.name, cron: (event.data as { cron?: unknown }).cron });
      return "ticked";
    });
    const app = await serveApp(client, [ticking]);
    const ticks = () =>
      sql<{ last_tick: Date }>`select last_tick from devstack.inngest_cron_ticks`.execute(scratch.database.owner);
    try {
      expect((await syncApp(app.url)).status).toBe(200);
      // First seen at 10:02: the schedule starts at its next tick, 10:05; nothing runs yet.
      await eventually(async () => (await ticks()).rows.length === 1);
      expect(await runsOf(first, "cron-ticking")).toEqual([]);

      // A second executor on the same database: both look for the 10:05 tick, many times over.
      executors.push(await start());
      clock = at("2026-12-01T10:05:07Z");
      const [run] = await endedRuns(first, "cron-ticking", 1);
      expect(run.event).toMatchObject({ name: "inngest/scheduled.timer", data: { cron: "*/5 * * * *" } });
      expect(run.output).toBe("ticked");
      expect(seen).toEqual([{ name: "inngest/scheduled.timer", cron: "*/5 * * * *" }]);

      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await runsOf(first, "cron-ticking")).toHaveLength(1);

      // Both stop; half an hour passes (six ticks); one starts again: one run, for 10:35.
      for (const executor of executors.splice(0)) await executor.stop();
      clock = at("2026-12-01T10:37:30Z");
      executors.push(await start());
      const runs = await endedRuns(executors[0] as DevExecutor, "cron-ticking", 2);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await runsOf(executors[0] as DevExecutor, "cron-ticking")).toHaveLength(2);
      expect(runs.map((ended) => ended.event.id).sort()).toEqual([
        "cron:cron-ticking:*/5 * * * *:2026-12-01T10:05:00.000Z",
        "cron:cron-ticking:*/5 * * * *:2026-12-01T10:35:00.000Z",
      ]);
      expect((await ticks()).rows.map((row) => new Date(row.last_tick).toISOString())).toEqual([
        "2026-12-01T10:35:00.000Z",
      ]);
    } finally {
      for (const executor of executors) await executor.stop();
      await app.stop();
      await scratch.dispose();
    }
  });
});
