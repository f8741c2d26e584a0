// What each function registers with Inngest when the app syncs (the SDK's own function
// config), with its keys evaluated as Inngest evaluates them (CEL) on real event shapes.
import { describe, expect, it } from "vitest";
import { createInngestClient } from "../client.ts";
import { evaluateExpression } from "../testing.ts";
import { createCallCompleted } from "./call-completed.ts";
import { createDeliverMessage } from "./deliver-message.ts";
import { createReconcileDeliveries } from "./reconcile-deliveries.ts";

type FunctionConfig = {
  id: string;
  triggers: Array<{ event?: string; expression?: string; cron?: string }>;
  concurrency?: unknown;
  steps: { step: { retries: { attempts: number } } };
  idempotency?: string;
  throttle?: { key: string; limit: number; period: string };
};

const inngest = createInngestClient({ isDev: true });
// Registration reads no dependency: none is reached here.
const deps = { database: undefined as never, messaging: undefined as never, statusCallbacks: undefined as never };
const configOf = (fn: unknown): FunctionConfig[] =>
  (fn as { getConfig(options: { baseUrl: URL; appPrefix: string }): FunctionConfig[] }).getConfig({
    baseUrl: new URL("https://api.callflow.test/api/inngest"),
    appPrefix: "callflow",
  });

const callCompleted = {
  name: "call/completed",
  id: `CA${"1".repeat(32)}`,
  data: { callSid: `CA${"1".repeat(32)}`, organizationId: "org_northside", callLogId: "a" },
};
const deliveryRequested = {
  name: "message/delivery.requested",
  id: "0b6f3c1e-8d52-4b7a-9f3e-2c1d5a7e9b40:whatsapp",
  data: {
    jobId: "0b6f3c1e-8d52-4b7a-9f3e-2c1d5a7e9b40",
    organizationId: "org_northside",
    channel: "whatsapp",
    throttleKey: "whatsapp:+15125550100:7",
  },
};

describe("call-completed's registration", () => {
  const [config] = configOf(createCallCompleted(inngest, deps));

  it("runs on call/completed, once per call, retried 4 times", () => {
    expect(config?.triggers).toEqual([{ event: "call/completed" }]);
    expect(evaluateExpression(config?.idempotency ?? "", { event: callCompleted })).toBe(callCompleted.data.callSid);
    expect(config?.steps.step.retries.attempts).toBe(4);
  });

  it("throttles each business on its own, 120 calls a minute", () => {
    expect(config?.throttle).toMatchObject({ limit: 120, period: "1m" });
    expect(evaluateExpression(config?.throttle?.key ?? "", { event: callCompleted })).toBe("org_northside");
  });
});

describe("deliver-message's registration", () => {
  const [config, failure] = configOf(createDeliverMessage(inngest, deps));

  it("runs on message/delivery.requested, retried 4 times, one send a second in its sender's lane", () => {
    expect(config?.triggers).toEqual([{ event: "message/delivery.requested" }]);
    expect(config?.steps.step.retries.attempts).toBe(4);
    expect(config?.throttle).toMatchObject({ limit: 1, period: "1s" });
    expect(evaluateExpression(config?.throttle?.key ?? "", { event: deliveryRequested })).toBe(
      deliveryRequested.data.throttleKey,
    );
  });

  it("has a failure handler for its own failed runs only", () => {
    const [trigger] = failure?.triggers ?? [];
    expect(trigger?.event).toBe("inngest/function.failed");
    const failed = (functionId: string) => ({
      name: "inngest/function.failed",
      data: { function_id: functionId, event: deliveryRequested, error: { message: "boom" } },
    });
    expect(evaluateExpression(trigger?.expression ?? "", { event: failed(config?.id ?? "") })).toBe(true);
    expect(evaluateExpression(trigger?.expression ?? "", { event: failed("callflow-call-completed") })).toBe(false);
  });
});

describe("reconcile-deliveries' registration", () => {
  it("runs on its schedule (every 5 minutes by default) and on request, one run at a time", () => {
    const [config] = configOf(createReconcileDeliveries(inngest, deps));
    expect(config?.triggers).toEqual([{ cron: "*/5 * * * *" }, { event: "ops/reconciliation.requested" }]);
    expect(config?.concurrency).toBe(1);
  });

  it("takes the schedule it is given", () => {
    const [config] = configOf(
      createReconcileDeliveries(inngest, { ...deps, reconcile: { cron: "TZ=Europe/Madrid 0 * * * *" } }),
    );
    expect(config?.triggers?.[0]).toEqual({ cron: "TZ=Europe/Madrid 0 * * * *" });
  });
});
