// Every event CallFlow sends or waits for, declared once with its schema. Producers write
// events through `.outbox(data, id)`, checked against the same schema, so both sides of
// each event share one contract.
import { messageStatusSchema } from "@callflow/domain";
import { eventType } from "inngest";
import { z } from "zod";
import type { OutboxEvent } from "./outbox.ts";

/** The event for the outbox: data checked against the schema, and the id that makes it count once. */
const outboxOf =
  <S extends z.ZodType<Record<string, unknown>>>(name: string, schema: S) =>
  (data: z.input<S>, id: string): OutboxEvent => ({ name, id, data: schema.parse(data) });

const callCompletedData = z.object({ callSid: z.string(), organizationId: z.string(), callLogId: z.uuid() });
/** A call ended with a final status; written by the voice webhook with the CallSid as event id. */
export const callCompleted = Object.assign(eventType("call/completed", { schema: callCompletedData }), {
  outbox: outboxOf("call/completed", callCompletedData),
});

const messageDeliveryRequestedData = z.object({
  jobId: z.uuid(),
  organizationId: z.string(),
  channel: z.enum(["whatsapp", "sms"]),
  /** The sender's lane (packages/domain sender-pace.ts): deliver-message's throttle key. */
  throttleKey: z.string().min(1).max(200),
});
/**
 * A job's message is to go out on one channel: the first when the job is ready, the next when
 * the one before did not deliver. Its id is `<jobId>:<channel>`, so each channel runs once.
 */
export const messageDeliveryRequested = Object.assign(
  eventType("message/delivery.requested", { schema: messageDeliveryRequestedData }),
  { outbox: outboxOf("message/delivery.requested", messageDeliveryRequestedData) },
);

const messageStatusUpdatedData = z.object({
  sid: z.string(),
  messageId: z.uuid(),
  jobId: z.uuid(),
  organizationId: z.string(),
  status: messageStatusSchema,
  errorCode: z.number().nullable(),
});
/** A provider status callback was stored; `status` is the message's status after it. */
export const messageStatusUpdated = Object.assign(
  eventType("message/status.updated", { schema: messageStatusUpdatedData }),
  { outbox: outboxOf("message/status.updated", messageStatusUpdatedData) },
);

const stripeSubscriptionChangedData = z.object({
  organizationId: z.string(),
  customerId: z.string(),
  stripeEventType: z.string(),
});
/**
 * A Stripe webhook said something about a customer's subscription (Checkout completed, a
 * subscription created, updated or deleted, an invoice paid or failed); its id is Stripe's
 * event id. The sync re-reads the subscription from Stripe, so order and repeats do not matter.
 */
export const stripeSubscriptionChanged = Object.assign(
  eventType("stripe/subscription.changed", { schema: stripeSubscriptionChangedData }),
  { outbox: outboxOf("stripe/subscription.changed", stripeSubscriptionChangedData) },
);

const reconciliationRequestedData = z.object({
  /** Who asked, for the run's record: an operator's name, a test. */
  requestedBy: z.string().min(1).max(200),
});
/**
 * Reconciliation now rather than at its next scheduled tick (an operator after an outage,
 * a test). Its schedule is the function's cron trigger; this is the same run on demand.
 */
export const reconciliationRequested = Object.assign(
  eventType("ops/reconciliation.requested", { schema: reconciliationRequestedData }),
  { outbox: outboxOf("ops/reconciliation.requested", reconciliationRequestedData) },
);
