import type { CallflowInngest } from "./client.ts";
import { type CallCompletedDeps, createCallCompleted } from "./functions/call-completed.ts";
import { createDeliverMessage, type DeliverMessageDeps } from "./functions/deliver-message.ts";

export { type CallflowInngest, createInngestClient, type InngestSettings } from "./client.ts";
export { callCompleted, messageJobCreated, messageStatusUpdated } from "./events.ts";
export { type CallCompletedDeps, createCallCompleted, type JobDecision } from "./functions/call-completed.ts";
export { createDeliverMessage, type DeliverMessageDeps } from "./functions/deliver-message.ts";

/** The functions `/api/inngest` serves. */
export function createFunctions(inngest: CallflowInngest, deps: CallCompletedDeps & DeliverMessageDeps) {
  return [createCallCompleted(inngest, deps), createDeliverMessage(inngest, deps)];
}
export { type InngestDevSetting, inngestDevSetting, inngestEnv } from "./env.ts";
export { enqueueEvents, type OutboxEvent, type OutboxRelay, sendWith, startOutboxRelay } from "./outbox.ts";
