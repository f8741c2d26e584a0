import { describe, expect, it } from "vitest";
import {
  atLimitDescription,
  entitlementOf,
  PAST_DUE_GRACE_DAYS,
  quotaReachedReason,
  type SubscriptionState,
  usagePeriodOf,
} from "./billing.ts";
import { plans } from "./plans.ts";

const NOW = new Date("2026-11-30T12:00:00Z");
const subscription = (change: Partial<SubscriptionState>): SubscriptionState => ({
  plan: "starter",
  status: "active",
  pastDueSince: null,
  currentPeriodStart: new Date("2026-11-15T08:00:00Z"),
  currentPeriodEnd: new Date("2026-12-15T08:00:00Z"),
  ...change,
});
const daysBefore = (days: number) => new Date(NOW.getTime() - days * 86_400_000);

describe("entitlementOf", () => {
  it.each<[string, SubscriptionState | null, string, boolean]>([
    ["no subscription", null, "free", true],
    ["active", subscription({}), "starter", true],
    ["trialing", subscription({ status: "trialing", plan: "growth" }), "growth", true],
    ["canceled", subscription({ status: "canceled" }), "free", true],
    ["incomplete (first payment not made)", subscription({ status: "incomplete" }), "free", true],
    ["incomplete_expired", subscription({ status: "incomplete_expired" }), "free", true],
    ["an unknown plan", subscription({ plan: "platinum" }), "free", true],
    [
      "past due within the grace period",
      subscription({ status: "past_due", pastDueSince: daysBefore(2) }),
      "starter",
      true,
    ],
    [
      "past due just inside it",
      subscription({ status: "past_due", pastDueSince: daysBefore(PAST_DUE_GRACE_DAYS - 0.001) }),
      "starter",
      true,
    ],
    [
      "past due after it",
      subscription({ status: "past_due", pastDueSince: daysBefore(PAST_DUE_GRACE_DAYS) }),
      "starter",
      false,
    ],
    ["unpaid", subscription({ status: "unpaid" }), "starter", false],
    ["paused", subscription({ status: "paused" }), "starter", false],
  ])("%s: %s plan, sending %s", (_case, state, plan, sending) => {
    const entitlement = entitlementOf(state, NOW);
    expect([entitlement.plan.id, entitlement.sending]).toEqual([plan, sending]);
  });

  it("says until when a past-due subscription keeps sending, and why it stops after", () => {
    expect(entitlementOf(subscription({ status: "past_due", pastDueSince: daysBefore(2) }), NOW)).toMatchObject({
      graceUntil: new Date("2026-12-05T12:00:00Z"),
    });
    expect(entitlementOf(subscription({ status: "past_due", pastDueSince: daysBefore(10) }), NOW)).toMatchObject({
      reason:
        "the Starter plan's payment has been past due since 2026-11-20 and the 7-day grace period is over: pay the open invoice in Billing to send messages again",
    });
  });
});

describe("usagePeriodOf", () => {
  it("counts in the subscription's billing period while it is paid for", () => {
    expect(usagePeriodOf(subscription({}), NOW)).toEqual({
      start: new Date("2026-11-15T08:00:00Z"),
      end: new Date("2026-12-15T08:00:00Z"),
    });
    expect(usagePeriodOf(subscription({ status: "past_due" }), NOW).start).toEqual(new Date("2026-11-15T08:00:00Z"));
  });

  it.each<[string, SubscriptionState | null]>([
    ["without a subscription", null],
    ["after cancellation", subscription({ status: "canceled" })],
    ["when the stored period is over (a renewal not yet synced)", subscription({ currentPeriodEnd: daysBefore(1) })],
  ])("counts in the calendar month %s", (_case, state) => {
    expect(usagePeriodOf(state, NOW)).toEqual({
      start: new Date("2026-11-01T00:00:00Z"),
      end: new Date("2026-12-01T00:00:00Z"),
    });
  });

  it("rolls the calendar month over the year's end", () => {
    expect(usagePeriodOf(null, new Date("2026-12-31T23:59:59Z"))).toEqual({
      start: new Date("2026-12-01T00:00:00Z"),
      end: new Date("2027-01-01T00:00:00Z"),
    });
  });
});

describe("words", () => {
  it("says what stopped a message and what happens at the limit", () => {
    expect(quotaReachedReason(plans.starter, 500)).toBe("monthly message quota reached: 500 of 500 on Starter");
    expect(atLimitDescription(plans.growth)).toBe(
      "after 2500 messages in a billing period, calls are still logged but no message is sent until the next period or an upgrade",
    );
  });
});
