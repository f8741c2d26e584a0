// The functions the conformance suite runs, and a fixture serving them: an executor on a
// scratch database, an app serving the functions with the real SDK, synced.
import { type LaneName, migratedDatabase, type ScratchDatabase } from "@callflow/db/testing";
import { type Inngest, NonRetriableError } from "inngest";
import { type DevExecutor, startDevExecutor } from "./start-executor.ts";
import { clientOf, FAST_BACKOFF, newKeys, type ServedApp, serveApp, syncApp, type TestKeys } from "./test-app.ts";

export interface ConformanceApp {
  scratch: ScratchDatabase;
  executor: DevExecutor;
  client: Inngest.Any;
  app: ServedApp;
  keys: TestKeys;
  /** How often each step and function body ran. */
  counts: Record<string, number>;
  /** What the failure handler received. */
  failures: Array<{ message: string; functionId: string; eventName: string }>;
  stop(): Promise<void>;
}

export async function startConformanceApp(lane: LaneName): Promise<ConformanceApp> {
  const scratch = await migratedDatabase(lane);
  const keys = newKeys();
  const executor = await startDevExecutor({ database: scratch.database, ...keys, backoffScale: FAST_BACKOFF });
  const client = clientOf(executor.url, "conformance", keys);
  const counts: Record<string, number> = {};
  const failures: ConformanceApp["failures"] = [];
  const app = await serveApp(client, conformanceFunctions(client, counts, failures));
  const response = await syncApp(app.url);
  if (response.status !== 200) throw new Error(`sync failed: ${response.status} ${await response.text()}`);
  return {
    scratch,
    executor,
    client,
    app,
    keys,
    counts,
    failures,
    async stop() {
      await executor.stop();
      await app.stop();
      await scratch.dispose();
    },
  };
}

function conformanceFunctions(
  client: Inngest.Any,
  counts: Record<string, number>,
  failures: ConformanceApp["failures"],
) {
  const count = (key: string) => {
    counts[key] = (counts[key] ?? 0) + 1;
  };
  return [
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
}
