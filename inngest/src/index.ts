import type { CallflowInngest } from "./client.ts";
import { type CallCompletedDeps, createCallCompleted } from "./functions/call-completed.ts";
import { createDeliverMessage, type DeliverMessageDeps } from "./functions/deliver-message.ts";
import { createSyncSubscription, type SyncSubscriptionDeps } from "./functions/sync-subscription.ts";

export { type CallflowInngest, createInngestClient, type InngestSettings } from "./client.ts";
export { type DeliverySend, deliveryRequestOf } from "./delivery-request.ts";
export { callCompleted, messageDeliveryRequested, messageStatusUpdated, stripeSubscriptionChanged } from "./events.ts";
export {
  type CallCompletedDeps,
  checkConsentOnWaking,
  createCallCompleted,
  type JobDecision,
} from "./functions/call-completed.ts";
export { createDeliverMessage, type DeliverMessageDeps } from "./functions/deliver-message.ts";
export { createSyncSubscription, type SyncSubscriptionDeps, writeSubscription } from "./functions/sync-subscription.ts";

/** The functions `/api/inngest` serves; the billing sync when there is billing to sync. */
export function createFunctions(
  inngest: CallflowInngest,
  deps: CallCompletedDeps & DeliverMessageDeps & Partial<SyncSubscriptionDeps>,
) {
  const { billing } = deps;
  return [
    createCallCompleted(inngest, deps),
    createDeliverMessage(inngest, deps),
    ...(billing ? [createSyncSubscription(inngest, { ...deps, billing })] : []),
  ];
}
export { type InngestDevSetting, inngestDevSetting, inngestEnv } from "./env.ts";
export { enqueueEvents, type OutboxEvent, type OutboxRelay, sendWith, startOutboxRelay } from "./outbox.ts";
export { type ProviderFailure, recordRecipientFact } from "./recipient-facts.ts";
export {
  eventWithTraceContext,
  TRACE_CONTEXT_KEY,
  type TraceContextCarrier,
  traceContextOfEvent,
} from "./trace-context.ts";
export { TracingMiddleware } from "./tracing-middleware.ts";
