// RECONCILE_*: when reconciliation runs and how much it does; a bad value stops the start.
import { defaultReconcileSettings } from "@callflow/inngest";
import { expect, it, vi } from "vitest";
import { loadConfig } from "./config.ts";

const configWith = (settings: Record<string, string>) => loadConfig({ LOG_LEVEL: "silent", ...settings });

it("defaults to every 5 minutes, messages unchanged for 30 minutes, jobs stuck for 2 hours, 100 a run", () => {
  expect(configWith({}).reconcile).toEqual(defaultReconcileSettings);
  expect(defaultReconcileSettings).toEqual({
    cron: "*/5 * * * *",
    afterMinutes: 30,
    stuckJobMinutes: 120,
    pageSize: 100,
  });
});

it("reads each setting", () => {
  const config = configWith({
    RECONCILE_CRON: "TZ=Europe/Madrid */15 8-20 * * MON-FRI",
    RECONCILE_AFTER_MINUTES: "45",
    RECONCILE_STUCK_JOB_MINUTES: "600",
    RECONCILE_PAGE_SIZE: "20",
  });
  expect(config.reconcile).toEqual({
    cron: "TZ=Europe/Madrid */15 8-20 * * MON-FRI",
    afterMinutes: 45,
    stuckJobMinutes: 600,
    pageSize: 20,
  });
});

it.each([
  ["RECONCILE_CRON", "61 * * * *", /minute 61 is out of range 0-59/],
  ["RECONCILE_CRON", "every five minutes", /not a cron schedule: has 3 fields/],
  ["RECONCILE_AFTER_MINUTES", "0", />=1/],
  ["RECONCILE_STUCK_JOB_MINUTES", "soon", /expected number/],
  ["RECONCILE_PAGE_SIZE", "5000", /<=1000/],
])("stops the start on %s=%j, naming the variable and why", (name, value, why) => {
  // The environment's validation prints each variable's problem, then throws.
  const printed = vi.spyOn(console, "error").mockImplementation(() => {});
  try {
    expect(() => configWith({ [name]: value })).toThrow(/Invalid environment variables/);
    const report = JSON.stringify(printed.mock.calls);
    expect(report).toContain(name);
    expect(report).toMatch(why);
  } finally {
    printed.mockRestore();
  }
});
