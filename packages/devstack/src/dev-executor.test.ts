// Conformance of the dev executor against the real Inngest SDK: functions written with the
// SDK, served with inngest/hono over HTTP, synced with PUT, triggered with `inngest.send`,
// with every request signed and checked by the SDK (the client is in cloud mode).
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { migratedDatabase, type ScratchDatabase } from "@callflow/db/testing";
import { serve as serveNode } from "@hono/node-server";
import { Hono } from "hono";
import { Inngest, type InngestFunction, NonRetriableError } from "inngest";
import { serve as serveInngest } from "inngest/hono";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevExecutor, type RunSummary, startDevExecutor } from "./dev-executor.ts";

const SIGNING_KEY = `signkey-test-${randomBytes(32).toString("hex")}`;
const EVENT_KEY = "conformance-event-key";
const BACKOFF = { baseMs: 20, maxMs: 100 };
// The SDK logs every step error; the assertions say what matters here.
const quiet = { info() {}, warn() {}, error() {}, debug() {} };

/** Serves the functions with inngest/hono on a free port; returns the /api/inngest URL. */
async function serveApp(client: Inngest.Any, functions: InngestFunction.Any[], port = 0) {
  const app = new Hono();
  const handler = serveInngest({ client, functions });
  app.on(["GET", "PUT", "POST"], "/api/inngest", (c) => handler(c));
  const server = serveNode({ fetch: app.fetch, port, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/inngest`;
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
  return { url, stop };
}

const sync = (url: string) => fetch(url, { method: "PUT" });

async function eventually<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const runsOf = async (executor: DevExecutor, functionId: string) =>
  (await executor.runs()).filter((run) => run.functionId === functionId);

const endedRun = (executor: DevExecutor, functionId: string, count = 1, timeoutMs?: number) =>
  eventually(async () => {
    const runs = await runsOf(executor, functionId);
    const ended = runs.filter((run) => run.status === "completed" || run.status === "failed");
    return ended.length >= count ? (ended as [RunSummary, ...RunSummary[]]) : null;
  }, timeoutMs);

describe("the dev executor, against the Inngest SDK", () => {
  let scratch: ScratchDatabase;
  let executor: DevExecutor;
  let client: Inngest.Any;
  let app: Awaited<ReturnType<typeof serveApp>>;
  const counts: Record<string, number> = {};
  const count = (key: string) => {
    counts[key] = (counts[key] ?? 0) + 1;
  };
  const failures: Array<{ message: string; functionId: string; eventName: string }> = [];
  const throttleStarts: Array<{ org: string; at: number }> = [];

  beforeAll(async () => {
    scratch = await migratedDatabase("pglite");
    executor = await startDevExecutor({
      database: scratch.database,
      signingKey: SIGNING_KEY,
      eventKey: EVENT_KEY,
      backoff: BACKOFF,
    });
    client = new Inngest({
      id: "conformance",
      isDev: false,
      logger: quiet,
      signingKey: SIGNING_KEY,
      eventKey: EVENT_KEY,
      baseUrl: executor.url,
    });
    const functions = [
      client.createFunction({ id: "memo", triggers: [{ event: "conf/memo" }] }, async ({ step }) => {
        count("memo:invocations");
        const a = await step.run("a", () => {
          count("memo:a");
          return "A";
        });
        const b = await step.run("b", () => {
          count("memo:b");
          return `${a}B`;
        });
        const c = await step.run("c", () => {
          count("memo:c");
          return { text: `${b}C`, n: 3 };
        });
        return c;
      }),
      client.createFunction({ id: "sleeper", triggers: [{ event: "conf/sleep" }] }, async ({ step }) => {
        const before = await step.run("before", () => Date.now());
        await step.sleep("nap", "1s");
        const after = await step.run("after", () => Date.now());
        return { sleptMs: after - before };
      }),
      client.createFunction({ id: "waiter", triggers: [{ event: "conf/order.placed" }] }, async ({ event, step }) => {
        const approval = await step.waitForEvent("wait-approval", {
          event: "conf/order.approved",
          timeout: "20s",
          match: "data.orderId",
        });
        const shipped = await step.waitForEvent("wait-shipped", {
          event: "conf/order.shipped",
          timeout: "20s",
          if: `async.data.orderId == '${event.data.orderId}' && (async.data.carrier == 'ups' || async.data.carrier == 'dhl') && !(async.data.test == true)`,
        });
        return { approvedBy: approval?.data.by ?? null, carrier: shipped?.data.carrier ?? null };
      }),
      client.createFunction({ id: "impatient", triggers: [{ event: "conf/impatient" }] }, async ({ step }) => {
        const reply = await step.waitForEvent("wait-reply", { event: "conf/never", timeout: "1s" });
        return { reply };
      }),
      client.createFunction(
        {
          id: "flaky",
          triggers: [{ event: "conf/flaky" }],
          retries: 2,
          onFailure: async ({ error, event }) => {
            failures.push({
              message: error.message,
              functionId: event.data.function_id,
              eventName: event.data.event.name,
            });
          },
        },
        async ({ step }) => {
          await step.run("always-fails", () => {
            count("flaky:attempts");
            throw new Error("the provider is down");
          });
          return "unreachable";
        },
      ),
      client.createFunction(
        { id: "recovers", triggers: [{ event: "conf/recovers" }], retries: 3 },
        async ({ step, attempt }) => {
          const value = await step.run("fails-twice", () => {
            count("recovers:attempts");
            if ((counts["recovers:attempts"] ?? 0) < 3) throw new Error("not yet");
            return "ok";
          });
          // A failure outside any step retries the whole request.
          if (attempt === 0) {
            count("recovers:function-errors");
            throw new Error("the function itself failed once");
          }
          return { value, attempt };
        },
      ),
      client.createFunction({ id: "refuses", triggers: [{ event: "conf/refuses" }], retries: 4 }, async ({ step }) => {
        await step.run("refuse", () => {
          count("refuses:attempts");
          throw new NonRetriableError("this call does not exist");
        });
      }),
      client.createFunction(
        { id: "once-per-key", triggers: [{ event: "conf/once" }], idempotency: "event.data.callSid" },
        async ({ event }) => ({ callSid: event.data.callSid }),
      ),
      client.createFunction({ id: "plain", triggers: [{ event: "conf/plain" }] }, async ({ event }) => event.data),
      client.createFunction(
        {
          id: "throttled",
          triggers: [{ event: "conf/throttled" }],
          throttle: { key: "event.data.org", limit: 2, period: "1s" },
        },
        async ({ event, step }) => {
          await step.run("record-start", () => {
            throttleStarts.push({ org: event.data.org, at: Date.now() });
          });
        },
      ),
      client.createFunction({ id: "parent", triggers: [{ event: "conf/parent" }] }, async ({ event, step }) => {
        const sent = await step.sendEvent("fan-out", [
          { name: "conf/child", data: { n: event.data.n, index: 0 } },
          { name: "conf/child", data: { n: event.data.n, index: 1 } },
        ]);
        return sent;
      }),
      client.createFunction({ id: "child", triggers: [{ event: "conf/child" }] }, async ({ event }) => ({
        index: event.data.index,
      })),
      client.createFunction({ id: "parallel", triggers: [{ event: "conf/parallel" }] }, async ({ step }) => {
        const [x, y] = await Promise.all([
          step.run("x", () => {
            count("parallel:x");
            return 1;
          }),
          step.run("y", () => {
            count("parallel:y");
            return 2;
          }),
        ]);
        return x + y;
      }),
    ];
    app = await serveApp(client, functions);
    const response = await sync(app.url);
    expect(response.status, await response.text()).toBe(200);
  });
  afterAll(async () => {
    await executor?.stop();
    await app?.stop();
    await scratch?.dispose();
  });

  it("runs each step once though the function is called again for every step", async () => {
    await client.send({ name: "conf/memo", data: {} });
    const [run] = await endedRun(executor, "conformance-memo");
    expect(run).toMatchObject({ status: "completed", output: { text: "ABC", n: 3 }, steps: 3 });
    expect(counts).toMatchObject({ "memo:a": 1, "memo:b": 1, "memo:c": 1, "memo:invocations": 4 });
  });

  it("runs planned parallel steps each once", async () => {
    await client.send({ name: "conf/parallel", data: {} });
    const [run] = await endedRun(executor, "conformance-parallel");
    expect(run).toMatchObject({ status: "completed", output: 3, steps: 2 });
    expect(counts).toMatchObject({ "parallel:x": 1, "parallel:y": 1 });
  });

  it("sleeps, then continues", async () => {
    await client.send({ name: "conf/sleep", data: {} });
    await eventually(async () => (await runsOf(executor, "conformance-sleeper"))[0]?.status === "sleeping");
    const [run] = await endedRun(executor, "conformance-sleeper");
    expect(run.status).toBe("completed");
    expect((run.output as { sleptMs: number }).sleptMs).toBeGreaterThanOrEqual(950);
  });

  it("resumes a wait with the matching event only (match and if expressions)", async () => {
    await client.send({ name: "conf/order.placed", data: { orderId: "o-1" } });
    await client.send({ name: "conf/order.placed", data: { orderId: "o-2" } });
    const waiting = () =>
      eventually(async () => {
        const runs = await runsOf(executor, "conformance-waiter");
        return runs.length === 2 && runs.every((run) => run.status === "waiting") ? runs : null;
      });
    await waiting();
    await client.send([
      { name: "conf/order.approved", data: { orderId: "o-3", by: "nobody" } },
      { name: "conf/order.approved", data: { orderId: "o-1", by: "ana" } },
    ]);
    await eventually(async () => (await runsOf(executor, "conformance-waiter")).some((run) => run.steps === 1));
    await waiting();
    await client.send([
      { name: "conf/order.shipped", data: { orderId: "o-1", carrier: "fedex" } },
      { name: "conf/order.shipped", data: { orderId: "o-1", carrier: "ups", test: true } },
      { name: "conf/order.shipped", data: { orderId: "o-1", carrier: "dhl" } },
    ]);
    const [run] = await endedRun(executor, "conformance-waiter");
    expect(run.output).toEqual({ approvedBy: "ana", carrier: "dhl" });
    const other = (await runsOf(executor, "conformance-waiter")).find((candidate) => candidate.runId !== run.runId);
    expect(other).toMatchObject({ status: "waiting", waitingFor: "conf/order.approved", steps: 0 });
  });

  it("resumes a wait with null when it times out", async () => {
    await client.send({ name: "conf/impatient", data: {} });
    const [run] = await endedRun(executor, "conformance-impatient");
    expect(run).toMatchObject({ status: "completed", output: { reply: null } });
  });

  it("retries a failing step with backoff, then fails the run and starts the failure handler", async () => {
    await client.send({ name: "conf/flaky", data: { job: 1 } });
    const [run] = await endedRun(executor, "conformance-flaky");
    expect(run.status).toBe("failed");
    expect(run.error).toMatchObject({ message: expect.stringContaining("the provider is down") });
    expect(counts["flaky:attempts"]).toBe(3);
    const [handler] = await endedRun(executor, "conformance-flaky-failure");
    expect(handler).toMatchObject({ status: "completed", event: { name: "inngest/function.failed" } });
    expect(failures).toEqual([
      {
        message: expect.stringContaining("the provider is down"),
        functionId: "conformance-flaky",
        eventName: "conf/flaky",
      },
    ]);
  });

  it("retries a step until it succeeds and the function until it completes", async () => {
    await client.send({ name: "conf/recovers", data: {} });
    const [run] = await endedRun(executor, "conformance-recovers");
    expect(run).toMatchObject({ status: "completed", output: { value: "ok", attempt: 1 } });
    expect(counts).toMatchObject({ "recovers:attempts": 3, "recovers:function-errors": 1 });
  });

  it("fails at once on a NonRetriableError", async () => {
    await client.send({ name: "conf/refuses", data: {} });
    const [run] = await endedRun(executor, "conformance-refuses");
    expect(run).toMatchObject({ status: "failed", error: { message: expect.stringContaining("does not exist") } });
    expect(counts["refuses:attempts"]).toBe(1);
  });

  it("starts one run per idempotency key", async () => {
    await client.send({ name: "conf/once", data: { callSid: "CA1" } });
    await client.send({ name: "conf/once", data: { callSid: "CA1" } });
    await client.send({ name: "conf/once", data: { callSid: "CA2" } });
    await executor.whenIdle();
    const runs = await runsOf(executor, "conformance-once-per-key");
    expect(runs.map((run) => run.output).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
      { callSid: "CA1" },
      { callSid: "CA2" },
    ]);
  });

  it("ignores an event whose id it has seen", async () => {
    const first = await client.send({ name: "conf/plain", id: "evt-1", data: { copy: 1 } });
    await client.send({ name: "conf/plain", id: "evt-1", data: { copy: 2 } });
    await client.send([
      { name: "conf/plain", id: "evt-2", data: { copy: 3 } },
      { name: "conf/plain", id: "evt-2", data: { copy: 4 } },
    ]);
    expect(first.ids).toHaveLength(1);
    await executor.whenIdle();
    const runs = await runsOf(executor, "conformance-plain");
    expect(runs.map((run) => run.output)).toEqual([{ copy: 1 }, { copy: 3 }]);
    expect(runs.map((run) => run.event.id)).toEqual(["evt-1", "evt-2"]);
  });

  it("delays runs beyond the throttle limit, per key, without dropping them", async () => {
    const before = Date.now();
    await client.send([
      { name: "conf/throttled", data: { org: "a" } },
      { name: "conf/throttled", data: { org: "a" } },
      { name: "conf/throttled", data: { org: "a" } },
      { name: "conf/throttled", data: { org: "b" } },
    ]);
    const runs = await endedRun(executor, "conformance-throttled", 4);
    expect(runs.every((run) => run.status === "completed")).toBe(true);
    const startsOf = (org: string) =>
      throttleStarts
        .filter((start) => start.org === org)
        .map((start) => start.at - before)
        .sort((a, b) => a - b);
    const [a1, a2, a3] = startsOf("a");
    const [b1] = startsOf("b");
    // Two of org a may start at once; the third waits for the period. Org b has its own limit.
    expect(a3).toBeGreaterThanOrEqual(990);
    expect(Math.max(a1 ?? 0, a2 ?? 0, b1 ?? 0)).toBeLessThan(a3 ?? 0);
  });

  it("takes step.sendEvent's events like any send", async () => {
    await client.send({ name: "conf/parent", data: { n: 7 } });
    const [parent] = await endedRun(executor, "conformance-parent");
    expect(parent.status).toBe("completed");
    expect((parent.output as { ids: string[] }).ids).toHaveLength(2);
    const children = await endedRun(executor, "conformance-child", 2);
    expect(children.map((run) => run.output)).toEqual(expect.arrayContaining([{ index: 0 }, { index: 1 }]));
  });

  it("refuses events with another event key, and malformed events", async () => {
    const wrongKey = await fetch(`${executor.url}/e/not-the-key`, {
      method: "POST",
      body: JSON.stringify({ name: "conf/plain", data: {} }),
    });
    expect(wrongKey.status).toBe(401);
    const noName = await fetch(`${executor.url}/e/${EVENT_KEY}`, {
      method: "POST",
      body: JSON.stringify({ data: {} }),
    });
    expect(noName.status).toBe(400);
  });
});

describe("a sync the dev executor cannot honour", () => {
  let scratch: ScratchDatabase;
  let executor: DevExecutor;
  beforeAll(async () => {
    scratch = await migratedDatabase("pglite");
    executor = await startDevExecutor({ database: scratch.database, signingKey: SIGNING_KEY, backoff: BACKOFF });
  });
  afterAll(async () => {
    await executor?.stop();
    await scratch?.dispose();
  });

  const attempt = async (options: Record<string, unknown>) => {
    const client = new Inngest({
      id: "refused",
      isDev: false,
      logger: quiet,
      signingKey: SIGNING_KEY,
      baseUrl: executor.url,
    });
    const fn = client.createFunction(
      { id: "fn", triggers: [{ event: "conf/x" }], ...options } as Parameters<typeof client.createFunction>[0],
      async () => null,
    );
    const app = await serveApp(client, [fn]);
    try {
      const response = await sync(app.url);
      return { status: response.status, body: (await response.json()) as { message: string } };
    } finally {
      await app.stop();
    }
  };

  it.each([
    [{ concurrency: 1 }, "concurrency"],
    [{ rateLimit: { limit: 1, period: "1m" } }, "rateLimit"],
    [{ debounce: { period: "10s" } }, "debounce"],
    [{ batchEvents: { maxSize: 10, timeout: "5s" } }, "batchEvents"],
    [{ cancelOn: [{ event: "conf/cancel", match: "data.id" }] }, "cancel"],
    [{ priority: { run: "event.data.priority" } }, "priority"],
    [{ timeouts: { finish: "1m" } }, "timeouts"],
    [{ singleton: { mode: "skip" } }, "singleton"],
    [{ triggers: [{ cron: "0 * * * *" }] }, "cron"],
    [{ triggers: [{ event: "conf/*" }] }, "wildcard"],
    [{ idempotency: "event.data.a + event.data.b" }, "idempotency"],
    [{ triggers: [{ event: "conf/x", if: "event.data.n > 3" }] }, "trigger expression"],
  ])("fails the sync loudly on %j", async (options, named) => {
    const { status, body } = await attempt(options);
    // The SDK answers the PUT with the executor's status and error.
    expect(status).toBe(400);
    expect(body.message).toContain(named);
    expect(await executor.runs()).toEqual([]);
  });

  it("accepts a sync it can honour", async () => {
    const { status } = await attempt({ idempotency: "event.data.id", throttle: { limit: 5, period: "1m" } });
    expect(status).toBe(200);
  });

  it("refuses a sync signed with another signing key", async () => {
    const client = new Inngest({
      id: "stranger",
      isDev: false,
      logger: quiet,
      signingKey: `signkey-test-${randomBytes(32).toString("hex")}`,
      baseUrl: executor.url,
    });
    const app = await serveApp(client, [
      client.createFunction({ id: "fn", triggers: [{ event: "x" }] }, async () => 1),
    ]);
    try {
      const response = await sync(app.url);
      expect(response.status).toBe(401);
      expect(await response.text()).toContain("another signing key");
    } finally {
      await app.stop();
    }
  });
});

describe("a restart of the dev executor", () => {
  it("continues runs from the database: waits keep waiting, timers fire, recorded steps do not run again", async () => {
    const scratch = await migratedDatabase("pglite");
    const counts = { before: 0, after: 0, napped: 0 };
    let executor = await startDevExecutor({ database: scratch.database, signingKey: SIGNING_KEY, backoff: BACKOFF });
    const port = Number(new URL(executor.url).port);
    const client = new Inngest({
      id: "restart",
      isDev: false,
      logger: quiet,
      signingKey: SIGNING_KEY,
      eventKey: EVENT_KEY,
      baseUrl: executor.url,
    });
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
      expect((await sync(app.url)).status).toBe(200);
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
      executor = await startDevExecutor({
        database: scratch.database,
        signingKey: SIGNING_KEY,
        backoff: BACKOFF,
        port,
      });
      const napped = await endedRun(executor, "restart-naps");
      expect(napped[0]).toMatchObject({ status: "completed", output: "woke" });
      expect((await runsOf(executor, "restart-waits"))[0]?.status).toBe("waiting");

      // No sync after the restart: the functions were stored.
      await client.send({ name: "restart/go", data: { ticket: "ticket-1", note: "after the restart" } });
      const [run] = await endedRun(executor, "restart-waits");
      expect(run).toMatchObject({ status: "completed", output: { ticket: "ticket-1", go: "after the restart" } });
      expect(counts).toEqual({ before: 1, after: 1, napped: 1 });
    } finally {
      await executor.stop();
      await app.stop();
      await scratch.dispose();
    }
  });

  it("sends an interrupted request again after a restart", async () => {
    const scratch = await migratedDatabase("pglite");
    let executor = await startDevExecutor({ database: scratch.database, signingKey: SIGNING_KEY, backoff: BACKOFF });
    const port = Number(new URL(executor.url).port);
    const client = new Inngest({
      id: "interrupted",
      isDev: false,
      logger: quiet,
      signingKey: SIGNING_KEY,
      eventKey: EVENT_KEY,
      baseUrl: executor.url,
    });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const calls = { slow: 0, first: 0 };
    const fn = client.createFunction({ id: "slow", triggers: [{ event: "slow/start" }] }, async ({ step }) => {
      await step.run("first", () => {
        calls.first++;
        return 1;
      });
      return step.run("slow", async () => {
        calls.slow++;
        if (calls.slow === 1) await gate;
        return "done";
      });
    });
    const app = await serveApp(client, [fn]);
    try {
      expect((await sync(app.url)).status).toBe(200);
      await client.send({ name: "slow/start", data: {} });
      await eventually(async () => calls.slow === 1);
      await executor.stop();
      release();
      const [row] = (
        await sql<{ status: string }>`select status from devstack.inngest_runs`.execute(scratch.database.owner)
      ).rows;
      expect(row?.status).toBe("pending");

      executor = await startDevExecutor({
        database: scratch.database,
        signingKey: SIGNING_KEY,
        backoff: BACKOFF,
        port,
      });
      const [run] = await endedRun(executor, "interrupted-slow");
      expect(run).toMatchObject({ status: "completed", output: "done" });
      expect(calls).toEqual({ first: 1, slow: 2 });
    } finally {
      await executor.stop();
      await app.stop();
      await scratch.dispose();
    }
  });

  it("waits for an app that is restarting, without using up the run's attempts", async () => {
    const scratch = await migratedDatabase("pglite");
    const executor = await startDevExecutor({ database: scratch.database, signingKey: SIGNING_KEY, backoff: BACKOFF });
    const client = new Inngest({
      id: "restarting",
      isDev: false,
      logger: quiet,
      signingKey: SIGNING_KEY,
      eventKey: EVENT_KEY,
      baseUrl: executor.url,
    });
    const fn = client.createFunction(
      { id: "once", triggers: [{ event: "restarting/go" }], retries: 0 },
      async ({ step }) => step.run("work", () => "done"),
    );
    let app = await serveApp(client, [fn]);
    try {
      expect((await sync(app.url)).status).toBe(200);
      const port = Number(new URL(app.url).port);
      await app.stop();
      await client.send({ name: "restarting/go", data: {} });
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect((await runsOf(executor, "restarting-once"))[0]).toMatchObject({ status: "pending", attempt: 0 });
      app = await serveApp(client, [fn], port);
      const [run] = await endedRun(executor, "restarting-once");
      expect(run).toMatchObject({ status: "completed", output: "done" });
    } finally {
      await executor.stop();
      await app.stop();
      await scratch.dispose();
    }
  });
});
