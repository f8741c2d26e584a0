// Conformance of the executor against the real Inngest SDK: functions written with the SDK,
// served with inngest/hono over HTTP, synced with PUT, triggered with `inngest.send`, with
// every call signed and checked by the SDK (the client is in cloud mode, so it checkpoints).
import { migratedDatabase, type ScratchDatabase, testLanes } from "@callflow/db/testing";
import type { Inngest } from "inngest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConformanceApp, startConformanceApp } from "./conformance-app.ts";
import { type DevExecutor, startDevExecutor } from "./start-executor.ts";
import {
  clientOf,
  endedRuns,
  eventually,
  newKeys,
  runsOf,
  type ServedApp,
  serveApp,
  syncApp,
  type TestKeys,
} from "./test-app.ts";

describe.each(testLanes())("steps, sleeps, waits and retries, against the Inngest SDK (%s)", (lane) => {
  let fixture: ConformanceApp;
  let executor: DevExecutor;
  let client: Inngest.Any;
  let app: ServedApp;
  let counts: Record<string, number>;
  let failures: ConformanceApp["failures"];
  beforeAll(async () => {
    fixture = await startConformanceApp(lane);
    ({ executor, client, app, counts, failures } = fixture);
  });
  afterAll(() => fixture?.stop());

  it("runs a 3-step function in one call, each step checkpointed once, as on Inngest Cloud", async () => {
    const callsBefore = app.calls();
    await client.send({ name: "conf/memo", data: {} });
    const [run] = await endedRuns(executor, "conformance-memo");
    expect(run).toMatchObject({ status: "completed", output: { text: "ABC", n: 3 }, steps: 3 });
    expect(counts).toMatchObject({ "memo:a": 1, "memo:b": 1, "memo:c": 1, "memo:invocations": 1 });
    expect(app.calls() - callsBefore).toBe(1);
  });

  it("runs planned parallel steps each once", async () => {
    await client.send({ name: "conf/parallel", data: {} });
    const [run] = await endedRuns(executor, "conformance-parallel");
    expect(run).toMatchObject({ status: "completed", output: 3, steps: 2 });
    expect(counts).toMatchObject({ "parallel:x": 1, "parallel:y": 1 });
  });

  it("sleeps, then continues", async () => {
    await client.send({ name: "conf/sleep", data: {} });
    await eventually(async () => (await runsOf(executor, "conformance-sleeper"))[0]?.status === "sleeping");
    const [run] = await endedRuns(executor, "conformance-sleeper");
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
    const [run] = await endedRuns(executor, "conformance-waiter");
    expect(run.output).toEqual({ approvedBy: "ana", carrier: "dhl" });
    const other = (await runsOf(executor, "conformance-waiter")).find((candidate) => candidate.runId !== run.runId);
    expect(other).toMatchObject({ status: "waiting", waitingFor: "conf/order.approved", steps: 0 });
  });

  it("resumes a wait with null when it times out", async () => {
    await client.send({ name: "conf/impatient", data: {} });
    const [run] = await endedRuns(executor, "conformance-impatient");
    expect(run).toMatchObject({ status: "completed", output: { reply: null } });
  });

  it("retries a failing step with backoff, then fails the run and starts the failure handler", async () => {
    await client.send({ name: "conf/flaky", data: { job: 1 } });
    const [run] = await endedRuns(executor, "conformance-flaky");
    expect(run.status).toBe("failed");
    expect(run.error).toMatchObject({ message: expect.stringContaining("the provider is down") });
    expect(counts["flaky:attempts"]).toBe(3);
    const [handler] = await endedRuns(executor, "conformance-flaky-failure");
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
    const [run] = await endedRuns(executor, "conformance-recovers");
    expect(run).toMatchObject({ status: "completed", output: { value: "ok", attempt: 1 } });
    expect(counts).toMatchObject({ "recovers:attempts": 3, "recovers:function-errors": 1 });
  });

  it("fails at once on a NonRetriableError", async () => {
    await client.send({ name: "conf/refuses", data: {} });
    const [run] = await endedRuns(executor, "conformance-refuses");
    expect(run).toMatchObject({ status: "failed", error: { message: expect.stringContaining("does not exist") } });
    expect(counts["refuses:attempts"]).toBe(1);
  });
});

describe.each(testLanes())("events, idempotency and sends, against the Inngest SDK (%s)", (lane) => {
  let fixture: ConformanceApp;
  let executor: DevExecutor;
  let client: Inngest.Any;
  let keys: TestKeys;
  beforeAll(async () => {
    fixture = await startConformanceApp(lane);
    ({ executor, client, keys } = fixture);
  });
  afterAll(() => fixture?.stop());

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

  it("takes step.sendEvent's events like any send", async () => {
    await client.send({ name: "conf/parent", data: { n: 7 } });
    const [parent] = await endedRuns(executor, "conformance-parent");
    expect(parent.status).toBe("completed");
    expect((parent.output as { ids: string[] }).ids).toHaveLength(2);
    const children = await endedRuns(executor, "conformance-child", 2);
    expect(children.map((run) => run.output)).toEqual(expect.arrayContaining([{ index: 0 }, { index: 1 }]));
  });

  it("gives a send retried with the same X-Inngest-Event-Id-Seed the same ids, and runs it once", async () => {
    const seed = `${Date.now()},${Buffer.from("0123456789").toString("base64")}`;
    const send = () =>
      fetch(`${executor.url}/e/${keys.eventKey}`, {
        method: "POST",
        headers: { "x-inngest-event-id-seed": seed },
        body: JSON.stringify([
          { name: "conf/plain", data: { seeded: 1 } },
          { name: "conf/plain", data: { seeded: 2 } },
        ]),
      }).then((response) => response.json() as Promise<{ ids: string[] }>);
    const first = await send();
    const again = await send();
    expect(again.ids).toEqual(first.ids);
    expect(new Set(first.ids).size).toBe(2);
    // The ids are ULIDs of the seed's time (Inngest's SeededID).
    expect(first.ids.every((id) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(id))).toBe(true);
    await executor.whenIdle();
    const seeded = (await runsOf(executor, "conformance-plain")).filter((run) => run.event.data.seeded);
    expect(seeded.map((run) => run.event.data.seeded).sort()).toEqual([1, 2]);
  });

  it("refuses malformed events with a 400 naming the problem", async () => {
    const send = (body: string) => fetch(`${executor.url}/e/${keys.eventKey}`, { method: "POST", body });
    const noName = await send(JSON.stringify({ data: {} }));
    expect(noName.status).toBe(400);
    expect(((await noName.json()) as { error: string }).error).toMatch(/event 0: name/);
    const badData = await send(
      JSON.stringify([
        { name: "conf/plain", data: {} },
        { name: "conf/plain", data: [1] },
      ]),
    );
    expect(badData.status).toBe(400);
    expect(((await badData.json()) as { error: string }).error).toMatch(/event 1: data/);
    expect((await send("{not json")).status).toBe(400);
    expect((await send("[]")).status).toBe(400);
  });

  it("ignores a repeated event id for runs, but lets it resume a wait", async () => {
    await client.send({ name: "conf/order.placed", id: "order-o-9", data: { orderId: "o-9" } });
    await eventually(async () =>
      (await runsOf(executor, "conformance-waiter")).find(
        (run) => run.event.data.orderId === "o-9" && run.status === "waiting",
      ),
    );
    // The same id again: the wait's trigger starts no second run...
    await client.send({ name: "conf/order.placed", id: "order-o-9", data: { orderId: "o-9" } });
    // ...and an approval repeating an id already seen still resumes the wait.
    await client.send({ name: "conf/order.approved", id: "approval-1", data: { orderId: "o-0", by: "nobody" } });
    await client.send({ name: "conf/order.approved", id: "approval-1", data: { orderId: "o-9", by: "eve" } });
    const waiting = await eventually(async () =>
      (await runsOf(executor, "conformance-waiter")).find(
        (run) => run.event.data.orderId === "o-9" && run.steps === 1 && run.status === "waiting",
      ),
    );
    expect(waiting.waitingFor).toBe("conf/order.shipped");
    const runs = (await runsOf(executor, "conformance-waiter")).filter((run) => run.event.data.orderId === "o-9");
    expect(runs).toHaveLength(1);
  });
});

describe("a sync the executor cannot honour", () => {
  let scratch: ScratchDatabase;
  let executor: DevExecutor;
  const keys = newKeys();
  beforeAll(async () => {
    scratch = await migratedDatabase("pglite");
    executor = await startDevExecutor({ database: scratch.database, ...keys });
  });
  afterAll(async () => {
    await executor?.stop();
    await scratch?.dispose();
  });

  const attempt = async (options: Record<string, unknown>) => {
    const client = clientOf(executor.url, "refused", keys);
    const fn = client.createFunction(
      { id: "fn", triggers: [{ event: "conf/x" }], ...options } as Parameters<typeof client.createFunction>[0],
      async () => null,
    );
    const app = await serveApp(client, [fn]);
    try {
      const response = await syncApp(app.url);
      return { status: response.status, body: (await response.json()) as { message: string } };
    } finally {
      await app.stop();
    }
  };

  it.each([
    [{ concurrency: { limit: 2, key: "event.data.org", scope: "env" } }, 'only scope "fn"'],
    [{ concurrency: [{ limit: 1 }, { limit: 2 }, { limit: 3 }] }, "at most 2 concurrency limits"],
    [{ rateLimit: { limit: 1, period: "soon" } }, "rateLimit.period"],
    [{ throttle: { limit: 0, period: "1m" } }, "throttle.limit"],
    [{ debounce: { period: "10s" } }, "debounce"],
    [{ batchEvents: { maxSize: 10, timeout: "5s" } }, "batchEvents"],
    [{ cancelOn: [{ event: "conf/cancel", match: "data.id" }] }, "cancel"],
    [{ priority: { run: "event.data.priority" } }, "priority"],
    [{ timeouts: { finish: "1m" } }, "timeouts"],
    [{ singleton: { mode: "skip" } }, "singleton"],
    [{ triggers: [{ cron: "61 * * * *" }] }, 'triggers.0.cron: "61 * * * *" minute 61 is out of range 0-59'],
    [{ triggers: [{ event: "conf/x" }, { cron: "TZ=Nowhere 0 * * * *" }] }, 'triggers.1.cron: "TZ=Nowhere'],
    [{ triggers: [{ cron: "0 * * * *", jitter: "10s" }] }, "cron jitter is not supported"],
    [{ triggers: [{ event: "conf/*" }] }, "wildcard"],
    [{ idempotency: "event.data.a + event.data.b" }, "idempotency"],
    [{ triggers: [{ event: "conf/x", if: "event.data.n > 3" }] }, "triggers.0.expression"],
  ])("fails the sync loudly on %j", async (options, named) => {
    const { status, body } = await attempt(options);
    // The SDK answers the PUT with the executor's status and error.
    expect(status).toBe(400);
    expect(body.message).toContain(named);
    expect(await executor.runs()).toEqual([]);
  });

  it("accepts a sync with the flow control it honours", async () => {
    const { status } = await attempt({
      idempotency: "event.data.id",
      throttle: { limit: 5, period: "1m", burst: 2, key: "event.data.org" },
      rateLimit: { limit: 10, period: "1h", key: "event.data.org" },
      concurrency: [
        { limit: 2, key: "event.data.org" },
        { limit: 5, scope: "fn" },
      ],
    });
    expect(status).toBe(200);
  });
});
