// POST /webhooks/stripe: Stripe's events about a business's billing. The signature is
// checked with the stripe SDK on the raw body (300 s tolerance; any of the configured
// secrets during a rotation); nothing is stored otherwise. An event about a subscription
// becomes `stripe/subscription.changed` in the outbox, in the same transaction as its
// receipt, so it counts once however often Stripe sends it; the sync function re-reads the
// subscription from Stripe. Other event types are acknowledged and ignored.
import type { Database, Tx } from "@callflow/db";
import { enqueueEvents, stripeSubscriptionChanged } from "@callflow/inngest";
import type { BillingProvider } from "@callflow/providers";
import type { Context } from "hono";
import type { Log } from "../log.ts";

/** The events that can change what a business's subscription is. */
const SUBSCRIPTION_EVENTS = new Set([
  "checkout.session.completed",
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "customer.subscription.paused",
  "customer.subscription.resumed",
  "invoice.paid",
  "invoice.payment_failed",
]);

export interface StripeWebhookOptions {
  database: Database;
  billing: BillingProvider;
  outbox: { wake(): void };
  log: Log;
}

export function stripeWebhook({ database, billing, outbox, log }: StripeWebhookOptions) {
  return async (c: Context) => {
    const raw = await c.req.text();
    const verified = await billing.verifyWebhook(raw, c.req.header("stripe-signature"));
    if (!verified.ok) return c.json({ error: verified.reason }, 400);
    const event = verified.event;
    if (!SUBSCRIPTION_EVENTS.has(event.type)) return c.json({ ignored: event.type }, 200);
    const object = event.data.object as { customer?: unknown; metadata?: unknown; client_reference_id?: unknown };
    const customerId = typeof object.customer === "string" ? object.customer : null;

    const queued = await database.withService(async (tx) => {
      const organizationId = customerId ? await organizationOf(tx, customerId) : null;
      const receipt = await tx
        .insertInto("webhook_receipts")
        .values({
          provider: "stripe",
          external_id: event.id,
          kind: event.type.slice(0, 100),
          organization_id: organizationId,
          // Recorded for operators: a customer no business has (made by hand in Stripe, say).
          note: organizationId ? null : `no organization has Stripe customer ${customerId ?? "(none in the event)"}`,
        })
        .onConflict((conflict) => conflict.columns(["provider", "external_id"]).doNothing())
        .returning("id")
        .executeTakeFirst();
      if (!receipt || !organizationId || !customerId) return false;
      await enqueueEvents(tx, [
        stripeSubscriptionChanged.outbox({ organizationId, customerId, stripeEventType: event.type }, event.id),
      ]);
      return true;
    });
    if (queued) outbox.wake();
    else if (customerId) log.info("stripe event not for a known organization", { event: event.id, customerId });
    return c.json({ received: true }, 200);
  };
}

/** The organization whose Stripe customer this is: one customer per organization. */
async function organizationOf(tx: Tx, customerId: string): Promise<string | null> {
  const row = await tx
    .selectFrom("subscriptions")
    .select("organization_id")
    .where("stripe_customer_id", "=", customerId)
    .executeTakeFirst();
  return row?.organization_id ?? null;
}
