import { describe, expect, it } from "vitest";
import {
  hasQuotaLeft,
  isPlanId,
  type PlanId,
  paidPlans,
  planIdSchema,
  planIds,
  planOfLookupKey,
  plans,
  quotaFor,
} from "./plans.ts";

describe("plans and quotaFor", () => {
  it.each<[PlanId, string, number, number, string | null]>([
    ["free", "Free", 50, 0, null],
    ["starter", "Starter", 500, 29, "callflow_starter_monthly"],
    ["growth", "Growth", 2_500, 79, "callflow_growth_monthly"],
    ["pro", "Pro", 10_000, 199, "callflow_pro_monthly"],
  ])("%s is %s with %i messages a month for $%i (Stripe lookup key %s)", (id, name, quota, price, lookupKey) => {
    expect(plans[id]).toEqual({
      id,
      name,
      monthlyMessageQuota: quota,
      monthlyPriceUsd: price,
      stripeLookupKey: lookupKey,
    });
    expect(quotaFor(id)).toBe(quota);
    expect(planOfLookupKey(lookupKey)?.id ?? null).toBe(lookupKey ? id : null);
  });

  it("sells the paid plans only, and knows no other lookup key", () => {
    expect(paidPlans.map((plan) => plan.id)).toEqual(["starter", "growth", "pro"]);
    expect(planOfLookupKey("callflow_enterprise_monthly")).toBeNull();
    expect(planOfLookupKey(undefined)).toBeNull();
  });

  it("lists every plan once, cheapest first", () => {
    expect(Object.keys(plans)).toEqual([...planIds]);
    const quotas = planIds.map(quotaFor);
    expect(quotas).toEqual([...quotas].sort((a, b) => a - b));
  });
});

describe("hasQuotaLeft", () => {
  it.each<[PlanId, number, boolean]>([
    ["free", 0, true],
    ["free", 49, true],
    ["free", 50, false],
    ["free", 51, false],
    ["starter", 499, true],
    ["starter", 500, false],
    ["growth", 2_499, true],
    ["growth", 2_500, false],
    ["pro", 9_999, true],
    ["pro", 10_000, false],
    ["pro", Number.NaN, false],
  ])("%s with %d used → %s", (plan, used, expected) => {
    expect(hasQuotaLeft(plan, used)).toBe(expected);
  });
});

describe("isPlanId and planIdSchema", () => {
  it.each([
    ["free", true],
    ["pro", true],
    ["enterprise", false],
    ["Pro", false],
    ["", false],
  ])("%j → %s", (input, expected) => {
    expect(isPlanId(input)).toBe(expected);
    expect(planIdSchema.safeParse(input).success).toBe(expected);
  });

  it("names the unknown plan", () => {
    expect(planIdSchema.safeParse("pro_annual").error?.issues[0]?.message).toBe(
      'Unknown plan "pro_annual". Plans are free, starter, growth, pro.',
    );
  });
});
