import { z } from "zod";

export const planIds = ["free", "starter", "growth", "pro"] as const;

export type PlanId = (typeof planIds)[number];

export type Plan = {
  id: PlanId;
  name: string;
  /** Messages per billing period, counted as usage_periods.messages_sent (not SMS segments). */
  monthlyMessageQuota: number;
  /** What the plan costs a month, in US dollars (the Stripe price's unit amount / 100). */
  monthlyPriceUsd: number;
  /** The Stripe price's lookup key (prices are found by it, never by id); null: nothing to buy. */
  stripeLookupKey: string | null;
};

export const plans: Readonly<Record<PlanId, Plan>> = {
  free: { id: "free", name: "Free", monthlyMessageQuota: 50, monthlyPriceUsd: 0, stripeLookupKey: null },
  starter: {
    id: "starter",
    name: "Starter",
    monthlyMessageQuota: 500,
    monthlyPriceUsd: 29,
    stripeLookupKey: "callflow_starter_monthly",
  },
  growth: {
    id: "growth",
    name: "Growth",
    monthlyMessageQuota: 2_500,
    monthlyPriceUsd: 79,
    stripeLookupKey: "callflow_growth_monthly",
  },
  pro: {
    id: "pro",
    name: "Pro",
    monthlyMessageQuota: 10_000,
    monthlyPriceUsd: 199,
    stripeLookupKey: "callflow_pro_monthly",
  },
};

/** The plans a business can buy, cheapest first. */
export const paidPlans = Object.values(plans).filter((plan) => plan.stripeLookupKey !== null);

/** The plan a Stripe price's lookup key sells; null for a price CallFlow does not sell. */
export function planOfLookupKey(lookupKey: string | null | undefined): Plan | null {
  return paidPlans.find((plan) => plan.stripeLookupKey === lookupKey) ?? null;
}

/**
 * subscriptions.plan is free text in the database; this is where an unknown plan stops.
 * The caller decides what an unknown plan means rather than getting a silent default.
 */
export const planIdSchema = z.enum(planIds, {
  error: (issue) => `Unknown plan ${JSON.stringify(issue.input)}. Plans are ${planIds.join(", ")}.`,
});

export function isPlanId(value: string): value is PlanId {
  return planIdSchema.safeParse(value).success;
}

export function quotaFor(plan: PlanId): number {
  return plans[plan].monthlyMessageQuota;
}

/** Whether one more message fits in this period; a count that is not a number never does. */
export function hasQuotaLeft(plan: PlanId, used: number): boolean {
  return used < quotaFor(plan);
}
