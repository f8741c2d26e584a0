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

async function seedBusiness(database: Database) {
  await database.withService(async (tx) => {
    await tx
      .insertInto("organizations")
      .values({ id: ORG, name: "Northside Plumbing", timezone: "America/Chicago" })
      .execute();
    await tx.insertInto("phone_numbers").values({ organization_id: ORG, e164: "+15125550100" }).execute();
    await tx
      .insertInto("templates")
      .values({
        organization_id: ORG,
        name: "Missed",
        trigger: "missed",
        whatsapp_content_sid: `HX${"b".repeat(32)}`,
        whatsapp_variables: JSON.stringify({ "1": "{{business_name}}" }),
        sms_body: "{{business_name}} missed your call.",
      })
      .execute();
  });
}

async function insertCall(database: Database, from: string, endedAt = DAYTIME, optedOut = false) {
  return database.withService(async (tx) => {
    const contact = await tx
      .insertInto("contacts")
      .values({ organization_id: ORG, e164: from })
      .onConflict((conflict) => conflict.columns(["organization_id", "e164"]).doUpdateSet({ e164: from }))
      .returning("id")
      .executeTakeFirstOrThrow();
    if (optedOut) {
      await tx
        .insertInto("consent_events")
        .values({
          organization_id: ORG,
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
        organization_id: ORG,
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

  const run = (call: { callSid: string; callLogId: string }, now = DAYTIME) =>
    new InngestTestEngine({ function: createCallCompleted(inngest, { database, now: () => now }) }).execute({
      events: [{ name: "call/completed", id: call.callSid, data: { organizationId: ORG, ...call } }],
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
    expect(job).toMatchObject({
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
