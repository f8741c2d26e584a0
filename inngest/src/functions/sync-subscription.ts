// sync-subscription: a Stripe event about a customer's subscription becomes the business's
// plan, status and billing period. It re-reads the subscription from Stripe rather than
// trusting the event, so events arriving out of order or more than once end in Stripe's
// current state. One sync at a time per organization.
import type { Database } from "@callflow/db";
import { planOfLookupKey } from "@callflow/domain";
import type { BillingProvider, BillingSubscription } from "@callflow/providers";
import { sql } from "kysely";
import type { CallflowInngest } from "../client.ts";
import { stripeSubscriptionChanged } from "../events.ts";

export interface SyncSubscriptionDeps {
  database: Database;
  billing: BillingProvider;
}

type Serialized<T> = { [K in keyof T]: T[K] extends Date | null ? string | null : T[K] };

export function createSyncSubscription(inngest: CallflowInngest, deps: SyncSubscriptionDeps) {
  return inngest.createFunction(
    {
      id: "sync-subscription",
      triggers: [stripeSubscriptionChanged],
      concurrency: { key: "event.data.organizationId", limit: 1 },
      retries: 4,
    },
    async ({ event, step }) => {
      const subscription = await step.run("read-subscription", () =>
        deps.billing.currentSubscription(event.data.customerId),
      );
      return step.run("write-subscription", () =>
        writeSubscription(deps.database, event.data.organizationId, event.data.customerId, subscription),
      );
    },
  );
}

/**
 * The organization's row as Stripe has it now. A customer that is not the org's (another
 * org's, or a stale link) changes nothing; past_due_since is kept while the subscription
 * stays past due, so the grace period counts from when it first was.
 */
export async function writeSubscription(
  database: Database,
  organizationId: string,
  customerId: string,
  subscription: Serialized<BillingSubscription> | BillingSubscription | null,
) {
  const plan = subscription ? (planOfLookupKey(subscription.lookupKey)?.id ?? "free") : "free";
  const at = (value: Date | string | null | undefined) => (value ? new Date(value) : null);
  const row = {
    plan,
    status: subscription?.status ?? "active",
    subscriptionId: subscription?.id ?? null,
    periodStart: at(subscription?.currentPeriodStart),
    periodEnd: at(subscription?.currentPeriodEnd),
    cancelAtPeriodEnd: subscription?.cancelAtPeriodEnd ?? false,
  };
  const { rows } = await database.withService((tx) =>
    sql<{ plan: string; status: string }>`
      insert into public.subscriptions as s (organization_id, stripe_customer_id, stripe_subscription_id, plan, status,
                                             current_period_start, current_period_end, cancel_at_period_end, past_due_since)
      values (${organizationId}, ${customerId}, ${row.subscriptionId}, ${row.plan}, ${row.status},
              ${row.periodStart}, ${row.periodEnd}, ${row.cancelAtPeriodEnd},
              case when ${row.status} = 'past_due' then now() end)
      on conflict (organization_id) do update set
        stripe_customer_id = excluded.stripe_customer_id,
        stripe_subscription_id = excluded.stripe_subscription_id,
        plan = excluded.plan,
        status = excluded.status,
        current_period_start = excluded.current_period_start,
        current_period_end = excluded.current_period_end,
        cancel_at_period_end = excluded.cancel_at_period_end,
        past_due_since = case when excluded.status = 'past_due' then coalesce(s.past_due_since, now()) end
      where s.stripe_customer_id is null or s.stripe_customer_id = excluded.stripe_customer_id
      returning plan, status`.execute(tx),
  );
  return rows[0] ?? { skipped: `customer ${customerId} is not ${organizationId}'s` };
}
