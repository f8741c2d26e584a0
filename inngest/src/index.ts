import type { CallflowInngest } from "./client.ts";
import { type CallCompletedDeps, createCallCompleted } from "./functions/call-completed.ts";
import { createDeliverMessage, type DeliverMessageDeps } from "./functions/deliver-message.ts";
import { createReconcileDeliveries, type ReconcileDeliveriesDeps } from "./functions/reconcile-deliveries.ts";
import { createSyncSubscription, type SyncSubscriptionDeps } from "./functions/sync-subscription.ts";

export { type CallflowInngest, createInngestClient, type InngestSettings } from "./client.ts";
export { type DeliverySend, deliveryRequestOf } from "./delivery-request.ts";
export {
  callCompleted,
  messageDeliveryRequested,
  messageStatusUpdated,
  reconciliationRequested,
  stripeSubscriptionChanged,
} from "./events.ts";
export {
  type CallCompletedDeps,
  checkConsentOnWaking,
  createCallCompleted,
  type JobDecision,
} from "./functions/call-completed.ts";
export { createDeliverMessage, type DeliverMessageDeps } from "./functions/deliver-message.ts";
export { createReconcileDeliveries, type ReconcileDeliveriesDeps } from "./functions/reconcile-deliveries.ts";
export {
  defaultReconcileSettings,
  RECONCILE_HORIZON_HOURS,
  type ReconcileSettings,
  stuckJobOutcome,
} from "./functions/reconcile-records.ts";
export { createSyncSubscription, type SyncSubscriptionDeps, writeSubscription } from "./functions/sync-subscription.ts";

/** The functions `/api/inngest` serves; the billing sync when there is billing to sync. */
export function createFunctions(
  inngest: CallflowInngest,
  deps: CallCompletedDeps & DeliverMessageDeps & ReconcileDeliveriesDeps & Partial<SyncSubscriptionDeps>,
) {
  const { billing } = deps;
  return [
    createCallCompleted(inngest, deps),
    createDeliverMessage(inngest, deps),
    createReconcileDeliveries(inngest, deps),
    ...(billing ? [createSyncSubscription(inngest, { ...deps, billing })] : []),
  ];
}
export { type InngestDevSetting, inngestDevSetting, inngestEnv } from "./env.ts";
export {
  applyStatusReport,
  type RecordedStatus,
  recordStatusCallback,
  recordStatusCallbacks,
  type StatusReport,
} from "./message-status-report.ts";
export { enqueueEvents, type OutboxEvent, type OutboxRelay, sendWith, startOutboxRelay } from "./outbox.ts";
export { type ProviderFailure, recordRecipientFact } from "./recipient-facts.ts";
export {
  eventWithTraceContext,
  TRACE_CONTEXT_KEY,
  type TraceContextCarrier,
  traceContextOfEvent,
} from "./trace-context.ts";
export { TracingMiddleware } from "./tracing-middleware.ts";
