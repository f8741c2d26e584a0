// Flow control as Inngest applies it, through the real SDK: throttle spreads starts evenly
// (GCRA), concurrency caps the calls in flight, a rate limit drops what exceeds it.
import { migratedDatabase, type ScratchDatabase, testLanes } from "@callflow/db/testing";
import type { Inngest } from "inngest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecutorLogLine } from "./log.ts";
import { type DevExecutor, startDevExecutor } from "./start-executor.ts";
import { clientOf, endedRuns, FAST_BACKOFF, newKeys, runsOf, type ServedApp, serveApp, syncApp } from "./test-app.ts";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(testLanes())("flow control (%s)", (lane) => {
  let scratch: ScratchDatabase;
  let executor: DevExecutor;
  let client: Inngest.Any;
  let app: ServedApp;
  const keys = newKeys();
  const lines: ExecutorLogLine[] = [];
  const throttled: Array<{ org: string; n: number; at: number }> = [];
  const flight = { now: 0, max: 0, byOrg: new Map<string, { now: number; max: number }>() };

  beforeAll(async () => {
    scratch = await migratedDatabase(lane);
    executor = await startDevExecutor({
      database: scratch.database,
      ...keys,
      backoffScale: FAST_BACKOFF,
      log: (line) => lines.push(line),
    });
    client = clientOf(executor.url, "flow", keys);
    const functions = [
      client.createFunction(
        {
          id: "throttled",
          triggers: [{ event: "flow/throttled" }],
          throttle: { key: "event.data.org", limit: 2, period: "1s" },
        },
        async ({ event, step }) => {
          await step.run("record-start", () => {
            throttled.push({ org: event.data.org, n: event.data.n, at: Date.now() });
          });
        },
      ),
      client.createFunction(
        { id: "capped", triggers: [{ event: "flow/capped" }], concurrency: { limit: 2 } },
        async ({ step }) => {
          await step.run("work", async () => {
            flight.now++;
            flight.max = Math.max(flight.max, flight.now);
            await pause(150);
            flight.now--;
          });
          await step.run("more-work", () => pause(20));
        },
      ),
      client.createFunction(
        {
          id: "capped-per-org",
          triggers: [{ event: "flow/capped-per-org" }],
          concurrency: [{ limit: 1, key: "event.data.org" }],
        },
        async ({ event, step }) => {
          await step.run("work", async () => {
            const org = flight.byOrg.get(event.data.org) ?? { now: 0, max: 0 };
            flight.byOrg.set(event.data.org, org);
            org.now++;
            org.max = Math.max(org.max, org.now);
            await pause(100);
            org.now--;
          });
        },
      ),
      client.createFunction(
        {
          id: "rate-limited",
          triggers: [{ event: "flow/rate-limited" }],
          // One every 100 ms, with a burst of one (a tenth of the limit).
          rateLimit: { key: "event.data.org", limit: 10, period: "1s" },
        },
        async ({ event }) => event.data.n,
      ),
    ];
    app = await serveApp(client, functions);
    expect((await syncApp(app.url)).status).toBe(200);
  });
  afterAll(async () => {
    await executor?.stop();
    await app?.stop();
    await scratch?.dispose();
  });

  it("throttle: starts runs of a key evenly over the period (GCRA), each key on its own", async () => {
    await client.send([
      ...[1, 2, 3, 4].map((n) => ({ name: "flow/throttled", data: { org: "a", n } })),
      { name: "flow/throttled", data: { org: "b", n: 1 } },
    ]);
    const runs = await endedRuns(executor, "flow-throttled", 5);
    expect(runs.every((run) => run.status === "completed")).toBe(true);
    // The slots, computed in one transaction: exactly one emission interval (500 ms) apart.
    const delays = (org: string) =>
      runs
        .filter((run) => run.event.data.org === org)
        .map((run) => run.startAt.getTime() - run.createdAt.getTime())
        .sort((x, y) => x - y);
    expect(delays("a")).toEqual([0, 500, 1000, 1500]);
    expect(delays("b")).toEqual([0]);
    // The app saw each run start at its slot, never before it (late by the time a call takes
    // on a busy machine; a start held back a whole period or more would be a bug).
    for (const run of runs) {
      const seen = throttled.find((start) => start.org === run.event.data.org && start.n === run.event.data.n);
      expect(seen?.at).toBeGreaterThanOrEqual(run.startAt.getTime() - 5);
      expect((seen?.at ?? 0) - run.startAt.getTime()).toBeLessThan(3000);
    }
  });

  it("concurrency: never more than the limit in flight, all runs completed", async () => {
    await client.send([1, 2, 3, 4, 5, 6].map((n) => ({ name: "flow/capped", data: { n } })));
    const runs = await endedRuns(executor, "flow-capped", 6);
    expect(runs.every((run) => run.status === "completed")).toBe(true);
    expect(flight.max).toBe(2);
  });

  it("concurrency with a key: at most one in flight per org", async () => {
    await client.send(
      ["a", "a", "a", "b", "b", "b"].map((org, n) => ({ name: "flow/capped-per-org", data: { org, n } })),
    );
    const runs = await endedRuns(executor, "flow-capped-per-org", 6);
    expect(runs.every((run) => run.status === "completed")).toBe(true);
    expect(Object.fromEntries([...flight.byOrg].map(([org, counts]) => [org, counts.max]))).toEqual({ a: 1, b: 1 });
  });

  it("rate limit: events beyond it start no run (dropped, as Inngest drops them), per key", async () => {
    await client.send([
      ...[1, 2, 3, 4].map((n) => ({ name: "flow/rate-limited", data: { org: "a", n } })),
      { name: "flow/rate-limited", data: { org: "b", n: 1 } },
    ]);
    await pause(300);
    await client.send({ name: "flow/rate-limited", data: { org: "a", n: 5 } });
    await executor.whenIdle();
    const runs = await runsOf(executor, "flow-rate-limited");
    const started = (org: string) => runs.filter((run) => run.event.data.org === org).map((run) => run.event.data.n);
    expect(started("a").sort()).toEqual([1, 2, 5]);
    expect(started("b")).toEqual([1]);
    expect(lines.filter((line) => line.msg === "no run: rate limited")).toHaveLength(2);
  });
});
