// Retries on Inngest's schedule (pkg/backoff/backoff.go): the table, the jitter, the scale,
// Retry-After; and the attempts of a real failing step spaced by it.
import { migratedDatabase, testLanes } from "@callflow/db/testing";
import { describe, expect, it } from "vitest";
import { inngestBackoff, retryAfterMs } from "./backoff.ts";
import { startDevExecutor } from "./start-executor.ts";
import { clientOf, endedRuns, newKeys, serveApp, syncApp } from "./test-app.ts";

const SECOND = 1000;
const MINUTE = 60 * SECOND;

describe("Inngest's retry schedule", () => {
  it("follows the table from the first retry, capped at its last entry", () => {
    const noJitter = inngestBackoff(1, () => 0);
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 25].map(noJitter)).toEqual([
      15 * SECOND,
      30 * SECOND,
      MINUTE,
      2 * MINUTE,
      5 * MINUTE,
      10 * MINUTE,
      20 * MINUTE,
      40 * MINUTE,
      60 * MINUTE,
      120 * MINUTE,
      120 * MINUTE,
      120 * MINUTE,
    ]);
  });

  it("adds up to 30 s of jitter, and scales the whole schedule", () => {
    expect(inngestBackoff(1, () => 0.999_999)(0)).toBe(15 * SECOND + 29_999);
    const scaled = inngestBackoff(0.001, () => 0.5);
    expect([0, 1, 2, 3].map(scaled)).toEqual([30, 45, 75, 135]);
  });

  it("reads Retry-After as seconds or a date", () => {
    const now = Date.parse("2030-01-01T00:00:00Z");
    expect(retryAfterMs("7", now)).toBe(7000);
    expect(retryAfterMs("2030-01-01T00:00:05Z", now)).toBe(5000);
    expect(retryAfterMs("2029-12-31T00:00:00Z", now)).toBe(0);
    expect(retryAfterMs("soon", now)).toBeNull();
    expect(retryAfterMs(null, now)).toBeNull();
  });
});

describe.each(testLanes())("a failing step's attempts (%s)", (lane) => {
  it("are retried after the scaled schedule's delays: 150 ms, 300 ms, 600 ms plus up to 300 ms of jitter", async () => {
    const scratch = await migratedDatabase(lane);
    const keys = newKeys();
    const delays: number[] = [];
    // 1/100 of Inngest's schedule.
    const executor = await startDevExecutor({
      database: scratch.database,
      ...keys,
      backoffScale: 0.01,
      log: (line) => {
        if (line.msg === "step failed; retrying") delays.push(line.delayMs as number);
      },
    });
    const client = clientOf(executor.url, "backoff", keys);
    const attempts: number[] = [];
    const fn = client.createFunction(
      { id: "flaky", triggers: [{ event: "backoff/go" }], retries: 3 },
      async ({ step }) =>
        step.run("fails", () => {
          attempts.push(Date.now());
          throw new Error("down");
        }),
    );
    const app = await serveApp(client, [fn]);
    try {
      expect((await syncApp(app.url)).status).toBe(200);
      await client.send({ name: "backoff/go", data: {} });
      const [run] = await endedRuns(executor, "backoff-flaky");
      expect(run.status).toBe("failed");
      expect(attempts).toHaveLength(4);
      expect(delays).toHaveLength(3);
      const gaps = attempts.slice(1).map((at, index) => at - (attempts[index] as number));
      for (const [index, base] of [150, 300, 600].entries()) {
        const delay = delays[index] as number;
        expect(delay).toBeGreaterThanOrEqual(base);
        expect(delay).toBeLessThan(base + 300);
        // The app saw the attempt no earlier than the delay (later by a call's latency).
        expect(gaps[index]).toBeGreaterThanOrEqual(delay);
        expect(gaps[index]).toBeLessThan(delay + 2500);
      }
    } finally {
      await executor.stop();
      await app.stop();
      await scratch.dispose();
    }
  });
});
