// What a business's subscription entitles it to now: which plan's quota applies, whether
// messages go out at all, and in which period they are counted. Pure: the subscription's
// state comes from Stripe (re-read by the billing sync), the clock from the caller.
import { isPlanId, type Plan, plans } from "./plans.ts";

/**
 * A subscription whose renewal payment failed (past_due) keeps sending for this long after
 * it became past due, while Stripe retries the card and the business can fix it; then
 * messages stop, with the reason, until the invoice is paid.
 */
export const PAST_DUE_GRACE_DAYS = 7;
const DAY_MS = 86_400_000;

export const subscriptionStatuses = [
  "trialing",
  "active",
  "past_due",
  "canceled",
  "unpaid",
  "incomplete",
  "incomplete_expired",
  "paused",
] as const;
export type SubscriptionStatus = (typeof subscriptionStatuses)[number];

export interface SubscriptionState {
  plan: string;
  status: SubscriptionStatus;
  pastDueSince: Date | null;
  currentPeriodStart: Date | null;
  currentPeriodEnd: Date | null;
}

/** A `subscriptions` row as the billing rules read it; no row: null, the free plan. */
export function subscriptionStateOf(
  row:
    | {
        plan: string;
        status: SubscriptionStatus;
        past_due_since: Date | null;
        current_period_start: Date | null;
        current_period_end: Date | null;
      }
    | undefined,
): SubscriptionState | null {
  if (!row) return null;
  return {
    plan: row.plan,
    status: row.status,
    pastDueSince: row.past_due_since,
    currentPeriodStart: row.current_period_start,
    currentPeriodEnd: row.current_period_end,
  };
}

export type Entitlement =
  | { sending: true; plan: Plan; graceUntil: Date | null }
  | { sending: false; plan: Plan; reason: string };

const day = (at: Date) => at.toISOString().slice(0, 10);

/** What the subscription allows now. No subscription, a canceled or never-paid one: the free plan. */
export function entitlementOf(subscription: SubscriptionState | null, now: Date): Entitlement {
  const free = { sending: true as const, plan: plans.free, graceUntil: null };
  if (!subscription) return free;
  const plan = isPlanId(subscription.plan) ? plans[subscription.plan] : plans.free;
  switch (subscription.status) {
    case "active":
    case "trialing":
      return { sending: true, plan, graceUntil: null };
    case "past_due": {
      const since = subscription.pastDueSince ?? now;
      const graceUntil = new Date(since.getTime() + PAST_DUE_GRACE_DAYS * DAY_MS);
      if (now < graceUntil) return { sending: true, plan, graceUntil };
      return {
        sending: false,
        plan,
        reason: `the ${plan.name} plan's payment has been past due since ${day(since)} and the ${PAST_DUE_GRACE_DAYS}-day grace period is over: pay the open invoice in Billing to send messages again`,
      };
    }
    case "unpaid":
      return {
        sending: false,
        plan,
        reason: `the ${plan.name} plan is unpaid: pay the open invoice in Billing to send messages again`,
      };
    case "paused":
      return { sending: false, plan, reason: `the ${plan.name} plan is paused: resume it in Billing to send messages` };
    case "canceled":
    case "incomplete":
    case "incomplete_expired":
      return free;
  }
}

/**
 * The period messages are counted in: the subscription's billing period while it is paid
 * for and covers now, otherwise the calendar month (UTC).
 */
export function usagePeriodOf(subscription: SubscriptionState | null, now: Date): { start: Date; end: Date } {
  const paid = subscription && ["active", "trialing", "past_due"].includes(subscription.status);
  const { currentPeriodStart: start, currentPeriodEnd: end } = subscription ?? {};
  if (paid && start && end && start <= now && now < end) return { start, end };
  return {
    start: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)),
    end: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)),
  };
}

/** Why a message was not sent when the quota is used up, in words the business reads. */
export function quotaReachedReason(plan: Plan, used: number): string {
  return `monthly message quota reached: ${used} of ${plan.monthlyMessageQuota} on ${plan.name}`;
}

/** What happens at the limit, as the billing page says it. */
export function atLimitDescription(plan: Plan): string {
  return `after ${plan.monthlyMessageQuota} messages in a billing period, calls are still logged but no message is sent until the next period or an upgrade`;
}
