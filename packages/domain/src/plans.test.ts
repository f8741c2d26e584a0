import { describe, expect, it } from "vitest";
import { hasQuotaLeft, isPlanId, type PlanId, planIdSchema, planIds, plans, quotaFor } from "./plans.ts";

describe("plans and quotaFor", () => {
  it.each<[PlanId, string, number]>([
    ["free", "Free", 50],
    ["starter", "Starter", 500],
    ["growth", "Growth", 2_500],
    ["pro", "Pro", 10_000],
  ])("%s is %s with %i messages a month", (id, name, quota) => {
    expect(plans[id]).toEqual({ id, name, monthlyMessageQuota: quota });
    expect(quotaFor(id)).toBe(quota);
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
