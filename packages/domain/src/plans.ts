import { z } from "zod";

export const planIds = ["free", "starter", "growth", "pro"] as const;

export type PlanId = (typeof planIds)[number];

export type Plan = {
  id: PlanId;
  name: string;
  /** Messages per billing period, counted as usage_periods.messages_sent (not SMS segments). */
  monthlyMessageQuota: number;
};

export const plans: Readonly<Record<PlanId, Plan>> = {
  free: { id: "free", name: "Free", monthlyMessageQuota: 50 },
  starter: { id: "starter", name: "Starter", monthlyMessageQuota: 500 },
  growth: { id: "growth", name: "Growth", monthlyMessageQuota: 2_500 },
  pro: { id: "pro", name: "Pro", monthlyMessageQuota: 10_000 },
};

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
