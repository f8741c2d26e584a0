import { randomUUID } from "node:crypto";
import type { Database } from "@callflow/db";
import { migratedDatabase, type ScratchDatabase, testLanes } from "@callflow/db/testing";
import { InngestTestEngine } from "@inngest/test";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createInngestClient } from "../client.ts";
import { checkConsentOnWaking, createCallCompleted, decideAndWriteJob } from "./call-completed.ts";

const ORG = "org_workflow_test";
// Wednesday 15:00 in Chicago: open, outside quiet hours.
const DAYTIME = new Date("2026-11-25T21:00:00Z");

async function seedBusiness(database: Database, org = ORG, number = "+15125550100") {
  await database.withService(async (tx) => {
    await tx
      .insertInto("organizations")
      .values({ id: org, name: "Northside Plumbing", timezone: "America/Chicago" })
      .execute();
    await tx.insertInto("phone_numbers").values({ organization_id: org, e164: number }).execute();
    await tx
      .insertInto("templates")
      .values({
        organization_id: org,
        name: "Missed",
        trigger: "missed",
        whatsapp_content_sid: `HX${"b".repeat(32)}`,
        whatsapp_variables: JSON.stringify({ "1": "{{business_name}}" }),
        sms_body: "{{business_name}} missed your call.",
      })
      .execute();
  });
}

async function insertCall(database: Database, from: string, endedAt = DAYTIME, optedOut = false, org = ORG) {
  return database.withService(async (tx) => {
    const contact = await tx
      .insertInto("contacts")
      .values({ organization_id: org, e164: from })
      .onConflict((conflict) => conflict.columns(["organization_id", "e164"]).doUpdateSet({ e164: from }))
      .returning("id")
      .executeTakeFirstOrThrow();
    if (optedOut) {
      await tx
        .insertInto("consent_events")
        .values({
          organization_id: org,
          contact_id: contact.id,
          channel: "sms",
          action: "opt_out",
          source: "inbound_keyword",
          actor: "SMtest",
        })
        .execute();
    }
    const callSid = `CA${randomUUID().replaceAll("-", "")}`;
    const call = await tx
      .insertInto("call_logs")
      .values({
        organization_id: org,
        call_sid: callSid,
        contact_id: contact.id,
        from_number: from,
        to_number: "+15125550100",
        status: "no-answer",
        outcome: "missed",
        duration_seconds: 0,
        started_at: endedAt,
        ended_at: endedAt,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    return { callSid, callLogId: call.id };
  });
}

describe.each(testLanes())("call-completed on %s", (lane) => {
  let scratch: ScratchDatabase;
  let database: Database;
  const inngest = createInngestClient({ isDev: true });
  beforeAll(async () => {
    scratch = await migratedDatabase(lane);
    database = scratch.database;
    await seedBusiness(database);
  });
  afterAll(() => scratch?.dispose());

  const run = (call: { callSid: string; callLogId: string }, now = DAYTIME, org = ORG) =>
    new InngestTestEngine({ function: createCallCompleted(inngest, { database, now: () => now }) }).execute({
      events: [{ name: "call/completed", id: call.callSid, data: { organizationId: org, ...call } }],
      // Sending the event and sleeping are the executor's part: recorded, not performed.
      steps: [
        { id: "request-delivery", handler: () => ({ ids: ["event-id"] }) },
        { id: "wait-for-quiet-hours-to-end", handler: () => null },
      ],
    });

  it("writes a job with its decision and asks for delivery on its first channel, in its sender's lane", async () => {
    const call = await insertCall(database, "+15125550147");
    const { result, ctx } = await run(call);
    expect(result).toMatchObject({ decision: "send", firstSend: { channel: "whatsapp", from: "+15125550100" } });
    expect(ctx.step.sendEvent).toHaveBeenCalledTimes(1);
    const jobId = (result as { jobId: string }).jobId;
    expect(vi.mocked(ctx.step.sendEvent).mock.calls[0]?.[1]).toMatchObject({
      name: "message/delivery.requested",
      id: `${jobId}:whatsapp`,
      data: { jobId, channel: "whatsapp", throttleKey: expect.stringMatching(/^whatsapp:\+15125550100:\d+$/) },
    });
    const job = await database.withService((tx) =>
      tx.selectFrom("message_jobs").selectAll().where("call_log_id", "=", call.callLogId).executeTakeFirstOrThrow(),
    );
    expect(result).toMatchObject({ jobId: job.id, reason: "missed call; WhatsApp first, SMS as fallback" });
    expect(job).toMatchObject({
      organization_id: ORG,
      contact_id: expect.any(String),
      template_id: expect.any(String),
      to_number: "+15125550147",
      reason: "missed call; WhatsApp first, SMS as fallback",
      whatsapp_content_sid: `HX${"b".repeat(32)}`,
      send_after: DAYTIME,
      completed_at: null,
      decision: "send",
      status: "pending",
      channels: ["whatsapp", "sms"],
      sms_body: "Northside Plumbing missed your call.",
      whatsapp_variables: { "1": "Northside Plumbing" },
      fallback_window_seconds: 300,
    });
  });

  it("writes one job per call however often the decision runs", async () => {
    const call = await insertCall(database, "+15125550148");
    const [first, second] = await Promise.all([
      decideAndWriteJob({ database, now: () => DAYTIME }, ORG, call.callLogId),
      decideAndWriteJob({ database, now: () => DAYTIME }, ORG, call.callLogId),
    ]);
    expect(second.jobId).toBe(first.jobId);
    const jobs = await database.withService((tx) =>
      tx.selectFrom("message_jobs").select("id").where("call_log_id", "=", call.callLogId).execute(),
    );
    expect(jobs).toHaveLength(1);
  });

  it("skips an opted-out caller, with the reason, and sends nothing", async () => {
    const call = await insertCall(database, "+15125550149", DAYTIME, true);
    const { result, ctx } = await run(call);
    expect(result).toMatchObject({ decision: "skip", reason: "the caller opted out" });
    expect(ctx.step.sendEvent).not.toHaveBeenCalled();
  });

  const jobOf = (callLogId: string) =>
    database.withService((tx) =>
      tx.selectFrom("message_jobs").selectAll().where("call_log_id", "=", callLogId).executeTakeFirstOrThrow(),
    );
  const lastMessagedAt = (e164: string) =>
    database.withService(async (tx) => {
      const row = await tx
        .selectFrom("contacts")
        .select("last_messaged_at")
        .where("organization_id", "=", ORG)
        .where("e164", "=", e164)
        .executeTakeFirstOrThrow();
      return row.last_messaged_at;
    });

  it("writes a skip as a finished job with nothing to send, and starts no cooldown", async () => {
    const call = await insertCall(database, "+15125550161", DAYTIME, true);
    await run(call);
    expect(await jobOf(call.callLogId)).toMatchObject({
      decision: "skip",
      status: "skipped",
      reason: "the caller opted out",
      to_number: "+15125550161",
      template_id: null,
      channels: [],
      sms_body: null,
      whatsapp_content_sid: null,
      whatsapp_variables: {},
      send_after: null,
      completed_at: DAYTIME,
    });
    expect(await lastMessagedAt("+15125550161")).toBeNull();
  });

  it("starts the caller's cooldown at the decision to message", async () => {
    await run(await insertCall(database, "+15125550162"));
    expect(await lastMessagedAt("+15125550162")).toEqual(DAYTIME);
  });

  it("fails for good on a call that does not exist", async () => {
    await expect(decideAndWriteJob({ database, now: () => DAYTIME }, ORG, randomUUID())).rejects.toMatchObject({
      name: "NonRetriableError",
      message: expect.stringMatching(/^call [0-9a-f-]{36} of org_workflow_test does not exist$/),
    });
  });

  it("decides a call whose end time is missing by when its log last changed", async () => {
    const call = await insertCall(database, "+15125550164");
    await database.withService((tx) =>
      tx.updateTable("call_logs").set({ ended_at: null }).where("id", "=", call.callLogId).execute(),
    );
    const { result } = await run(call);
    expect(result).toMatchObject({ decision: "send" });
  });

  it("writes an SMS-only job for a caller known not to be on WhatsApp", async () => {
    const call = await insertCall(database, "+15125550165");
    await database.withService((tx) =>
      tx
        .updateTable("contacts")
        .set({ whatsapp_status: "unavailable" })
        .where("organization_id", "=", ORG)
        .where("e164", "=", "+15125550165")
        .execute(),
    );
    await run(call);
    expect(await jobOf(call.callLogId)).toMatchObject({
      decision: "send",
      channels: ["sms"],
      whatsapp_content_sid: null,
      whatsapp_variables: {},
      sms_body: "Northside Plumbing missed your call.",
    });
  });

  it("messages under an explicit consent policy only the callers who opted in", async () => {
    const org = "org_explicit_consent";
    await seedBusiness(database, org, "+15125550181");
    await database.withService((tx) =>
      tx.updateTable("organizations").set({ consent_policy: "explicit" }).where("id", "=", org).execute(),
    );
    const optedIn = await insertCall(database, "+15125550166", DAYTIME, false, org);
    await database.withService(async (tx) => {
      const contact = await tx
        .selectFrom("contacts")
        .select("id")
        .where("organization_id", "=", org)
        .where("e164", "=", "+15125550166")
        .executeTakeFirstOrThrow();
      await tx
        .insertInto("consent_events")
        .values({
          organization_id: org,
          contact_id: contact.id,
          channel: "sms",
          action: "opt_in",
          source: "import",
          actor: "test",
        })
        .execute();
    });
    expect((await run(optedIn, DAYTIME, org)).result).toMatchObject({ decision: "send" });
    const unknown = await insertCall(database, "+15125550167", DAYTIME, false, org);
    expect((await run(unknown, DAYTIME, org)).result).toMatchObject({
      decision: "skip",
      reason: "the business messages only callers who opted in",
    });
  });

  it("never picks an archived or inactive template", async () => {
    const org = "org_templates_retired";
    await seedBusiness(database, org, "+15125550180");
    await database.withService(async (tx) => {
      await tx.updateTable("templates").set({ archived_at: DAYTIME }).where("organization_id", "=", org).execute();
      await tx
        .insertInto("templates")
        .values({ organization_id: org, name: "Off", trigger: "missed", active: false, sms_body: "Inactive." })
        .execute();
    });
    const { result } = await run(await insertCall(database, "+15125550163", DAYTIME, false, org), DAYTIME, org);
    expect(result).toMatchObject({ decision: "skip", reason: "no active template for missed calls" });
  });

  it("skips a second call within the cooldown", async () => {
    await run(await insertCall(database, "+15125550151"));
    const { result } = await run(await insertCall(database, "+15125550151"), new Date(DAYTIME.getTime() + 60_000));
    expect(result).toMatchObject({ decision: "skip" });
    expect((result as { reason: string }).reason).toMatch(/less than 24 h ago/);
  });

  it("defers a call in quiet hours until they end", async () => {
    const night = new Date("2026-11-26T04:00:00Z"); // 22:00 in Chicago
    const { result, ctx } = await run(await insertCall(database, "+15125550152", night), night);
    expect(result).toMatchObject({ decision: "defer", sendAfter: "2026-11-26T14:00:00.000Z" });
    expect(ctx.step.sleepUntil).toHaveBeenCalledWith(
      "wait-for-quiet-hours-to-end",
      new Date("2026-11-26T14:00:00.000Z"),
    );
    expect(ctx.step.sendEvent).toHaveBeenCalledTimes(1);
    const job = await database.withService((tx) =>
      tx
        .selectFrom("message_jobs")
        .selectAll()
        .where("id", "=", (result as { jobId: string }).jobId)
        .executeTakeFirstOrThrow(),
    );
    expect(job).toMatchObject({
      decision: "defer",
      status: "scheduled",
      send_after: new Date("2026-11-26T14:00:00.000Z"),
    });
  });

  describe("the plan's monthly quota", () => {
    let nextNumber = 0;
    /** A business of its own on `plan` (none: no subscription row) that has sent `used` messages this month. */
    async function businessOnPlan(org: string, number: string, plan: string | null, used: number) {
      await seedBusiness(database, org, number);
      await database.withService(async (tx) => {
        if (plan) await tx.insertInto("subscriptions").values({ organization_id: org, plan }).execute();
        await tx
          .insertInto("usage_periods")
          .values([
            // This month's, which counts, and last month's, which does not.
            {
              organization_id: org,
              period_start: new Date("2026-11-01T00:00:00Z"),
              period_end: new Date("2026-12-01T00:00:00Z"),
              messages_sent: used,
            },
            {
              organization_id: org,
              period_start: new Date("2026-10-01T00:00:00Z"),
              period_end: new Date("2026-11-01T00:00:00Z"),
              messages_sent: 9_999,
            },
            // Already counting next month's (a clock ahead somewhere): not this month's either.
            {
              organization_id: org,
              period_start: new Date("2026-12-01T00:00:00Z"),
              period_end: new Date("2027-01-01T00:00:00Z"),
              messages_sent: 9_999,
            },
          ])
          .execute();
      });
    }
    const decide = async (org: string, from: string) => {
      const call = await insertCall(database, from, DAYTIME, false, org);
      const { result, ctx } = await run(call, DAYTIME, org);
      return { result: result as { decision: string; reason: string }, ctx };
    };

    it.each([
      ["no subscription (free, 50 a month)", 49, "send", null],
      ["no subscription (free, 50 a month)", 50, "skip", null],
      ["starter (500 a month)", 50, "send", "starter"],
      ["starter (500 a month)", 499, "send", "starter"],
      ["starter (500 a month)", 500, "skip", "starter"],
      ["pro (10,000 a month)", 9_999, "send", "pro"],
      // A plan the catalog does not know is read as the free plan.
      ["an unknown plan", 49, "send", "legacy_gold"],
      ["an unknown plan", 50, "skip", "legacy_gold"],
    ] as const)("%s with %i sent this month: %s", async (_, used, expected, plan) => {
      const org = `org_quota_${plan ?? "none"}_${used}`;
      await businessOnPlan(org, `+15125551${String(nextNumber++).padStart(3, "0")}`, plan, used);
      const { result, ctx } = await decide(org, "+15125550160");
      expect(result.decision).toBe(expected);
      if (expected === "skip") {
        expect(result.reason).toMatch(/^monthly message quota reached: \d+ of \d+ on \w+$/);
        expect(ctx.step.sendEvent).not.toHaveBeenCalled();
      } else expect(ctx.step.sendEvent).toHaveBeenCalledTimes(1);
    });
  });

  it("cancels a deferred job when the caller opts out before quiet hours end, and asks for nothing", async () => {
    const night = new Date("2026-11-26T04:00:00Z"); // 22:00 in Chicago
    const call = await insertCall(database, "+15125550153", night);
    const { result, ctx } = await new InngestTestEngine({
      function: createCallCompleted(inngest, { database, now: () => night }),
    }).execute({
      events: [{ name: "call/completed", id: call.callSid, data: { organizationId: ORG, ...call } }],
      steps: [
        {
          id: "wait-for-quiet-hours-to-end",
          // While the job sleeps, the caller texts STOP (as the inbound webhook records it).
          handler: async () => {
            await database.withService(async (tx) => {
              const contact = await tx
                .selectFrom("contacts")
                .select("id")
                .where("e164", "=", "+15125550153")
                .executeTakeFirstOrThrow();
              await tx
                .insertInto("consent_events")
                .values({
                  organization_id: ORG,
                  contact_id: contact.id,
                  channel: "sms",
                  action: "opt_out",
                  source: "inbound_keyword",
                  actor: `SM${"9".repeat(32)}`,
                })
                .execute();
            });
            return null;
          },
        },
      ],
    });
    expect(result).toMatchObject({ decision: "defer", canceled: "canceled: the caller opted out before it was sent" });
    expect(ctx.step.sendEvent).not.toHaveBeenCalled();
    const job = await database.withService((tx) =>
      tx
        .selectFrom("message_jobs")
        .select(["status", "final_reason"])
        .where("call_log_id", "=", call.callLogId)
        .executeTakeFirstOrThrow(),
    );
    expect(job).toEqual({ status: "canceled", final_reason: "canceled: the caller opted out before it was sent" });
  });

  it("cancels a deferred job on waking when the business now messages only callers who opted in", async () => {
    const night = new Date("2026-11-26T04:00:00Z");
    const call = await insertCall(database, "+15125550154", night);
    const job = await decideAndWriteJob({ database, now: () => night }, ORG, call.callLogId);
    expect(job.decision).toBe("defer");
    await database.withService((tx) =>
      tx.updateTable("organizations").set({ consent_policy: "explicit" }).where("id", "=", ORG).execute(),
    );
    try {
      expect(await checkConsentOnWaking({ database }, job.jobId)).toEqual({
        canceled: true,
        reason: "canceled: the business messages only callers who opted in while it waited for quiet hours to end",
      });
    } finally {
      await database.withService((tx) =>
        tx.updateTable("organizations").set({ consent_policy: "implied" }).where("id", "=", ORG).execute(),
      );
    }
    const stored = await database.withService((tx) =>
      tx.selectFrom("message_jobs").select("status").where("id", "=", job.jobId).executeTakeFirstOrThrow(),
    );
    expect(stored.status).toBe("canceled");
  });

  it("goes on with a deferred job the caller still agrees to", async () => {
    const night = new Date("2026-11-26T04:00:00Z");
    const call = await insertCall(database, "+15125550155", night);
    const job = await decideAndWriteJob({ database, now: () => night }, ORG, call.callLogId);
    expect(await checkConsentOnWaking({ database }, job.jobId)).toEqual({ canceled: false });
  });

  it("skips an invalid caller number with the reason", async () => {
    const call = await database.withService(async (tx) => {
      const callSid = `CA${randomUUID().replaceAll("-", "")}`;
      const row = await tx
        .insertInto("call_logs")
        .values({
          organization_id: ORG,
          call_sid: callSid,
          from_number: "anonymous",
          to_number: "+15125550100",
          status: "no-answer",
          outcome: "missed",
          ended_at: DAYTIME,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      return { callSid, callLogId: row.id };
    });
    const { result } = await run(call);
    expect(result).toMatchObject({ decision: "skip" });
    expect((result as { reason: string }).reason).toMatch(/caller number/);
  });
});
