// The delivery metrics read from the database: jobs and messages written as the workflows
// write them, across two businesses, counted per window; nothing of a business's identity in
// the output; one database read shared by the scrapes within the cache's age.
import {
  insertTwoOrgFixture,
  migratedDatabase,
  ORG_A,
  ORG_B,
  type ScratchDatabase,
  testLanes,
} from "@callflow/db/testing";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callerOf, DELIVERY_JOBS, insertJob, MINUTE } from "./delivery-fixture.ts";
import { createDeliveryMetrics } from "./delivery-metrics.ts";
import { readDeliverySnapshot } from "./delivery-snapshot.ts";
import { type Exposition, readExposition } from "./exposition-reader.ts";
import { createMetrics } from "./metrics.ts";

const scrape = async (metrics: ReturnType<typeof createMetrics>) => readExposition((await metrics.exposition()).body);

describe.each(testLanes())("delivery metrics on %s", (lane) => {
  let scratch: ScratchDatabase;
  let metrics: ReturnType<typeof createMetrics>;
  let before: Exposition;
  let after: Exposition;
  let afterText: string;

  beforeAll(async () => {
    scratch = await migratedDatabase(lane);
    await insertTwoOrgFixture(scratch.database);
    metrics = createMetrics({ database: scratch.database, trpcProcedures: new Set(), deliveryCacheMs: 0 });
    before = await scrape(metrics);
    for (const org of [ORG_A, ORG_B])
      for (const [index, spec] of DELIVERY_JOBS.entries()) await insertJob(scratch.database, org, index, spec);
    await insertJob(scratch.database, ORG_A, 99, { status: "sending", endedAgo: 10 * MINUTE });
    afterText = (await metrics.exposition()).body;
    after = readExposition(afterText);
  });
  afterAll(() => scratch?.dispose());

  it("reports zeros for the outcomes a dashboard expects before any job finished", () => {
    expect(before.value("callflow_delivery_metrics_up")).toBe(1);
    for (const window of ["1h", "24h"]) {
      for (const [status, channel] of [
        ["delivered", "whatsapp"],
        ["delivered", "sms"],
        ["failed", "none"],
        ["skipped", "none"],
      ] as const)
        expect(before.value("callflow_message_jobs_completed", { window, status, channel })).toBe(0);
      expect(before.value("callflow_message_jobs_quota_skipped", { window })).toBe(0);
      expect(before.value("callflow_call_end_to_first_send_jobs", { window })).toBe(0);
      // No delivery, no ratio: absent rather than a made-up zero.
      expect(before.value("callflow_message_jobs_fallback_ratio", { window })).toBeUndefined();
    }
    expect(before.value("callflow_message_jobs_open", { status: "pending" })).toBe(2);
  });

  it("counts finished jobs by status and delivering channel, per window, across every business", () => {
    const completed = (window: string, status: string, channel: string) =>
      after.value("callflow_message_jobs_completed", { window, status, channel });
    expect(completed("1h", "delivered", "whatsapp")).toBe(2);
    expect(completed("24h", "delivered", "whatsapp")).toBe(2);
    expect(completed("1h", "delivered", "sms")).toBe(4);
    expect(completed("24h", "delivered", "sms")).toBe(6);
    expect(completed("1h", "failed", "none")).toBe(0);
    expect(completed("24h", "failed", "none")).toBe(2);
    expect(completed("1h", "skipped", "none")).toBe(4);
    expect(completed("24h", "skipped", "none")).toBe(4);
  });

  it("derives the SMS fallbacks, their rate and the quota skips", () => {
    expect(after.value("callflow_message_jobs_sms_fallback", { window: "1h" })).toBe(2);
    expect(after.value("callflow_message_jobs_sms_fallback", { window: "24h" })).toBe(2);
    expect(after.value("callflow_message_jobs_fallback_ratio", { window: "1h" })).toBeCloseTo(2 / 6);
    expect(after.value("callflow_message_jobs_fallback_ratio", { window: "24h" })).toBeCloseTo(2 / 8);
    expect(after.value("callflow_message_jobs_quota_skipped", { window: "1h" })).toBe(2);
    expect(after.value("callflow_message_jobs_quota_skipped", { window: "24h" })).toBe(2);
  });

  it("times a call's end to its job's first accepted send, deferred jobs aside", () => {
    const firstSend = (window: string, quantile: string) =>
      after.value("callflow_call_end_to_first_send_seconds", { window, quantile });
    // Last hour: 30, 30, 60, 60 s (the fallback's SMS is not a second first send).
    expect(after.value("callflow_call_end_to_first_send_jobs", { window: "1h" })).toBe(4);
    expect(firstSend("1h", "0.5")).toBeCloseTo(45, 0);
    expect(firstSend("1h", "0.99")).toBeCloseTo(60, 0);
    // The day adds the two SMS-only jobs, 120 s each.
    expect(after.value("callflow_call_end_to_first_send_jobs", { window: "24h" })).toBe(6);
    expect(firstSend("24h", "0.5")).toBeCloseTo(60, 0);
    expect(firstSend("24h", "0.99")).toBeCloseTo(120, 0);
  });

  it("counts provider errors by channel and code within the window", () => {
    const errors = (window: string, channel: string, code: string) =>
      after.value("callflow_provider_errors", { window, channel, code });
    expect(errors("1h", "whatsapp", "63024")).toBe(2);
    expect(errors("24h", "whatsapp", "63024")).toBe(2);
    expect(errors("1h", "sms", "21211")).toBe(0);
    expect(errors("24h", "sms", "21211")).toBe(2);
    // The two-day-old error is outside every window.
    expect(errors("24h", "whatsapp", "63016")).toBeUndefined();
  });

  it("reports the jobs not final yet and how long the oldest waited", () => {
    expect(after.value("callflow_message_jobs_open", { status: "pending" })).toBe(2);
    expect(after.value("callflow_message_jobs_open", { status: "sending" })).toBe(1);
    expect(after.value("callflow_message_jobs_open", { status: "scheduled" })).toBe(0);
    expect(after.value("callflow_message_jobs_open_oldest_age_seconds", { status: "sending" })).toBeGreaterThanOrEqual(
      10 * 60 - 5,
    );
    expect(after.value("callflow_message_jobs_open_oldest_age_seconds", { status: "scheduled" })).toBe(0);
  });

  it("names no business, caller, number or message anywhere in the output", () => {
    const forbidden = [ORG_A, ORG_B, "Fixture", "+1555", "1555010000", "1555020000", "missed call", "quota reached"];
    for (const org of [ORG_A, ORG_B])
      for (const index of DELIVERY_JOBS.keys()) forbidden.push(callerOf(org, index).slice(2));
    for (const text of forbidden) expect(afterText).not.toContain(text);
  });
});

describe.each(testLanes())("the delivery metrics' database reads on %s", (lane) => {
  let scratch: ScratchDatabase;
  beforeAll(async () => {
    scratch = await migratedDatabase(lane);
  });
  afterAll(() => scratch?.dispose());

  it("share one read among the scrapes within the cache's age, and read again after it", async () => {
    const registry = new Registry();
    let reads = 0;
    let now = 1_000_000;
    const delivery = createDeliveryMetrics({
      registry,
      database: scratch.database,
      cacheMs: 5_000,
      clock: () => now,
      read: (database) => {
        reads += 1;
        return readDeliverySnapshot(database);
      },
    });
    await Promise.all([delivery.refresh(), delivery.refresh(), delivery.refresh()]);
    expect(reads).toBe(1);
    now += 4_999;
    await delivery.refresh();
    expect(reads).toBe(1);
    now += 1;
    await delivery.refresh();
    expect(reads).toBe(2);
    const exposition = readExposition(await registry.metrics());
    expect(exposition.value("callflow_delivery_metrics_up")).toBe(1);
    expect(exposition.value("callflow_delivery_metrics_read_seconds")).toBeGreaterThan(0);
  });

  it("when a read fails, says so with up = 0 and drops the numbers it can no longer vouch for", async () => {
    const registry = new Registry();
    let failing = false;
    const delivery = createDeliveryMetrics({
      registry,
      database: scratch.database,
      cacheMs: 0,
      read: (database) => (failing ? Promise.reject(new Error("connection refused")) : readDeliverySnapshot(database)),
    });
    await delivery.refresh();
    expect(readExposition(await registry.metrics()).value("callflow_message_jobs_open", { status: "pending" })).toBe(0);
    failing = true;
    await delivery.refresh();
    const exposition = readExposition(await registry.metrics());
    expect(exposition.value("callflow_delivery_metrics_up")).toBe(0);
    expect(exposition.samples.filter((sample) => sample.name === "callflow_message_jobs_open")).toEqual([]);
    expect(exposition.samples.filter((sample) => sample.name === "callflow_message_jobs_completed")).toEqual([]);
  });
});
