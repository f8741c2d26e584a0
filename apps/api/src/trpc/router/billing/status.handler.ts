import {
  atLimitDescription,
  entitlementOf,
  paidPlans,
  plans,
  subscriptionStateOf,
  usagePeriodOf,
} from "@callflow/domain";
import type { OrgContext } from "../../trpc.ts";

/**
 * The business's plan and what it allows now: subscription status and period, usage against
 * the quota, what happens at the limit, and the plans it can move to with Stripe's prices
 * (null when Stripe could not be asked; the plan's own list price is shown then).
 */
/** The subscription statuses Stripe still bills or may bill again: a plan change goes through the portal. */
export const LIVE_STRIPE_STATUSES: readonly string[] = ["active", "trialing", "past_due", "unpaid", "paused"];
const liveStripeSubscription = (row: { stripe_subscription_id: string | null; status: string }) =>
  row.stripe_subscription_id !== null && LIVE_STRIPE_STATUSES.includes(row.status);

export const billingStatus = ({ ctx }: { ctx: OrgContext }) =>
  ctx.db(async (tx) => {
    const now = new Date();
    const row = await tx
      .selectFrom("subscriptions")
      .select([
        "plan",
        "status",
        "past_due_since",
        "current_period_start",
        "current_period_end",
        "cancel_at_period_end",
        "stripe_customer_id",
        "stripe_subscription_id",
      ])
      .executeTakeFirst();
    const subscription = subscriptionStateOf(row);
    const entitlement = entitlementOf(subscription, now);
    const period = usagePeriodOf(subscription, now);
    const usage = await tx
      .selectFrom("usage_periods")
      .select(["messages_sent", "whatsapp_sent", "sms_sent", "sms_segments"])
      .where("period_start", "=", period.start)
      .executeTakeFirst();
    const prices = await ctx.planPrices();
    return {
      plan: { id: entitlement.plan.id, name: entitlement.plan.name, quota: entitlement.plan.monthlyMessageQuota },
      subscription: row
        ? {
            plan: row.plan,
            status: row.status,
            currentPeriodEnd: row.current_period_end,
            cancelAtPeriodEnd: row.cancel_at_period_end,
            // Stripe's subscription changes plan in the Customer Portal; one CallFlow granted (a
            // trial, a demo plan) becomes a Stripe one through Checkout.
            managedBy: liveStripeSubscription(row) ? ("stripe" as const) : ("callflow" as const),
          }
        : null,
      sending: entitlement.sending
        ? { allowed: true as const, graceUntil: entitlement.graceUntil }
        : { allowed: false as const, reason: entitlement.reason },
      period,
      usage: {
        messages: usage?.messages_sent ?? 0,
        whatsapp: usage?.whatsapp_sent ?? 0,
        sms: usage?.sms_sent ?? 0,
        smsSegments: usage?.sms_segments ?? 0,
      },
      atLimit: atLimitDescription(entitlement.plan),
      hasBillingAccount: Boolean(row?.stripe_customer_id),
      plans: [plans.free, ...paidPlans].map((plan) => {
        const price = plan.stripeLookupKey ? prices?.get(plan.stripeLookupKey) : undefined;
        return {
          id: plan.id,
          name: plan.name,
          quota: plan.monthlyMessageQuota,
          price: price
            ? { amount: price.unitAmount / 100, currency: price.currency }
            : { amount: plan.monthlyPriceUsd, currency: "usd" },
        };
      }),
    };
  });
