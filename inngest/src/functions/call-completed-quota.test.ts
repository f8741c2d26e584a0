// Quotas that hold: a message counts against the plan's quota when it is decided, in the
// subscription's billing period, with the check and the count in one statement, so calls at
// the edge never overshoot; past the limit, or past a failed payment's grace period, a call
// is skipped with the reason in words.
import { randomUUID } from "node:crypto";
import type { Database } from "@callflow/db";
import { migratedDatabase, type ScratchDatabase, testLanes } from "@callflow/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decideAndWriteJob } from "./call-completed.ts";

// Wednesday 15:00 in Chicago: open, outside quiet hours.
const NOW = new Date("2026-11-25T21:00:00Z");
const PERIOD = { start: new Date("2026-11-15T08:00:00Z"), end: new Date("2026-12-15T08:00:00Z") };

async function business(database: Database, org: string, subscription: { status: string; pastDueSince?: Date }) {
  await database.withService(async (tx) => {
    await tx
      .insertInto("organizations")
      .values({ id: org, name: "Quota Plumbing", timezone: "America/Chicago", cooldown_seconds: 0 })
      .execute();
    await tx
      .insertInto("templates")
      .values({ organization_id: org, name: "Missed", trigger: "missed", sms_body: "{{business_name}} missed you." })
      .execute();
    await tx
      .insertInto("subscriptions")
      .values({
        organization_id: org,
        plan: "starter",
        status: subscription.status as "active",
        past_due_since: subscription.pastDueSince ?? null,
        current_period_start: PERIOD.start,
        current_period_end: PERIOD.end,
      })
      .execute();
  });
}

async function used(database: Database, org: string, messages: number) {
  await database.withService((tx) =>
    tx
      .insertInto("usage_periods")
      .values({ organization_id: org, period_start: PERIOD.start, period_end: PERIOD.end, messages_sent: messages })
      .execute(),
  );
}

async function missedCall(database: Database, org: string, n: number) {
  return database.withService(async (tx) => {
    const from = `+1512555${String(2000 + n).padStart(4, "0")}`;
    const contact = await tx
      .insertInto("contacts")
      .values({ organization_id: org, e164: from })
      .returning("id")
      .executeTakeFirstOrThrow();
    const call = await tx
      .insertInto("call_logs")
      .values({
        organization_id: org,
        call_sid: `CA${randomUUID().replaceAll("-", "")}`,
        contact_id: contact.id,
        from_number: from,
        to_number: "+15125550100",
        status: "no-answer",
        outcome: "missed",
        duration_seconds: 0,
        started_at: NOW,
        ended_at: NOW,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    return call.id;
  });
}

const messagesSent = (database: Database, org: string) =>
  database.withService(
    async (tx) =>
      (
        await tx
          .selectFrom("usage_periods")
          .select("messages_sent")
          .where("organization_id", "=", org)
          .where("period_start", "=", PERIOD.start)
          .executeTakeFirst()
      )?.messages_sent,
  );

describe.each(testLanes())("plan quotas on %s", (lane) => {
  let scratch: ScratchDatabase;
  let database: Database;
  beforeAll(async () => {
    scratch = await migratedDatabase(lane);
    database = scratch.database;
  });
  afterAll(() => scratch?.dispose());
  const decide = (org: string, callLogId: string) => decideAndWriteJob({ database, now: () => NOW }, org, callLogId);

  it("sends exactly five of twenty concurrent calls when five messages are left", async () => {
    await business(database, "org_quota_edge", { status: "active" });
    await used(database, "org_quota_edge", 495);
    const calls = await Promise.all(Array.from({ length: 20 }, (_, n) => missedCall(database, "org_quota_edge", n)));
    const decisions = await Promise.all(calls.map((call) => decide("org_quota_edge", call)));
    expect(decisions.filter((job) => job.decision === "send")).toHaveLength(5);
    const skipped = decisions.filter((job) => job.decision === "skip");
    expect(skipped).toHaveLength(15);
    expect(new Set(skipped.map((job) => job.reason))).toEqual(
      new Set(["monthly message quota reached: 500 of 500 on Starter"]),
    );
    expect(await messagesSent(database, "org_quota_edge")).toBe(500);
  });

  it("counts each message in the subscription's billing period, and the job remembers which", async () => {
    await business(database, "org_quota_period", { status: "active" });
    const job = await decide("org_quota_period", await missedCall(database, "org_quota_period", 100));
    expect(job.decision).toBe("send");
    expect(await messagesSent(database, "org_quota_period")).toBe(1);
    const row = await database.withService((tx) =>
      tx.selectFrom("message_jobs").select("usage_period_start").where("id", "=", job.jobId).executeTakeFirstOrThrow(),
    );
    expect(row.usage_period_start).toEqual(PERIOD.start);
  });

  it("keeps sending through the grace period of a failed payment, then skips with the reason", async () => {
    await business(database, "org_quota_grace", { status: "past_due", pastDueSince: new Date("2026-11-22T00:00:00Z") });
    expect((await decide("org_quota_grace", await missedCall(database, "org_quota_grace", 200))).decision).toBe("send");
    await database.withService((tx) =>
      tx
        .updateTable("subscriptions")
        .set({ past_due_since: new Date("2026-11-10T00:00:00Z") })
        .where("organization_id", "=", "org_quota_grace")
        .execute(),
    );
    const stopped = await decide("org_quota_grace", await missedCall(database, "org_quota_grace", 201));
    expect(stopped).toMatchObject({
      decision: "skip",
      reason:
        "the Starter plan's payment has been past due since 2026-11-10 and the 7-day grace period is over: pay the open invoice in Billing to send messages again",
    });
    expect(await messagesSent(database, "org_quota_grace")).toBe(1);
  });

  it("falls back to the free plan's 50 when the subscription is canceled", async () => {
    await business(database, "org_quota_canceled", { status: "canceled" });
    const month = { start: new Date("2026-11-01T00:00:00Z"), end: new Date("2026-12-01T00:00:00Z") };
    await database.withService((tx) =>
      tx
        .insertInto("usage_periods")
        .values({
          organization_id: "org_quota_canceled",
          period_start: month.start,
          period_end: month.end,
          messages_sent: 50,
        })
        .execute(),
    );
    const job = await decide("org_quota_canceled", await missedCall(database, "org_quota_canceled", 300));
    expect(job).toMatchObject({ decision: "skip", reason: "monthly message quota reached: 50 of 50 on Free" });
  });
});
