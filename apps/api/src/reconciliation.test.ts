// Reconciliation over the local stack: the real twilio SDK asks the Twilio sandbox about
// messages whose callbacks never came, the answer goes through the status webhook's own
// update, a waiting delivery hears of it, and jobs that nothing moves are finished.
import { randomBytes } from "node:crypto";
import type { Database } from "@callflow/db";
import { testLanes } from "@callflow/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkflowTestStack, type WorkflowTestStack } from "./workflow-test-stack.ts";

const ORG = "org_reconcile";
/** Calls to this number wait a minute for WhatsApp: long enough for a reconciliation to end the wait. */
const PATIENT = "+15125550160";
/** Calls to this business give WhatsApp 10 s, then SMS. */
const HASTY_ORG = "org_reconcile_hasty";
const HASTY = "+15125550161";
const MINUTE = 60_000;
const HX = `HX${"e".repeat(32)}`;

async function seed(database: Database) {
  await business(database, ORG, PATIENT, 60);
  await business(database, HASTY_ORG, HASTY, 10);
}

async function business(database: Database, org: string, number: string, fallbackWindowSeconds: number) {
  await database.withService(async (tx) => {
    await tx
      .insertInto("organizations")
      .values({
        id: org,
        name: "Northside Plumbing",
        timezone: "UTC",
        quiet_hours: null,
        cooldown_seconds: 0,
        fallback_window_seconds: fallbackWindowSeconds,
        trigger_outcomes: ["missed"],
      })
      .execute();
    await tx.insertInto("phone_numbers").values({ organization_id: org, e164: number }).execute();
    await tx.insertInto("subscriptions").values({ organization_id: org, plan: "pro", status: "active" }).execute();
    await tx
      .insertInto("templates")
      .values({
        organization_id: org,
        name: "Missed",
        trigger: "missed",
        whatsapp_content_sid: HX,
        whatsapp_variables: JSON.stringify({ "1": "{{business_name}}" }),
        sms_body: "{{business_name}} missed your call.",
      })
      .execute();
  });
}

describe.each(testLanes())("reconciliation on %s", (lane) => {
  let stack: WorkflowTestStack;
  let next = 100;
  const caller = (lastDigit: number) => `+1737556${String(next++).padStart(3, "0")}${lastDigit}`;

  beforeAll(async () => {
    stack = await startWorkflowTestStack(lane, { seed });
  });
  afterAll(() => stack?.stop());

  const jobOfCall = (callSid: string) =>
    stack.database.withService((tx) =>
      tx
        .selectFrom("message_jobs as j")
        .innerJoin("call_logs as c", "c.id", "j.call_log_id")
        .select(["j.id", "j.status"])
        .where("c.call_sid", "=", callSid)
        .executeTakeFirst(),
    );
  const message = (jobId: string, channel: "whatsapp" | "sms") =>
    stack.database.withService((tx) =>
      tx
        .selectFrom("messages")
        .select(["id", "provider_sid", "status", "error_code", "error_message", "reconcile_error", "reconcile_after"])
        .where("job_id", "=", jobId)
        .where("channel", "=", channel)
        .executeTakeFirst(),
    );
  const eventsOf = (messageId: string) =>
    stack.database.withService((tx) =>
      tx
        .selectFrom("message_events")
        .select(["status", "source"])
        .where("message_id", "=", messageId)
        .orderBy("received_at")
        .execute(),
    );
  async function until<T>(probe: () => Promise<T | undefined | null | false>, what: string): Promise<T> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const value = await probe();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`${what}: not within 20 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** A call from `from` whose WhatsApp message Twilio accepted and whose status callbacks are all lost. */
  async function sentWithoutCallbacks(from: string) {
    stack.sandbox.loseStatusCallbacksTo(from);
    const callSid = await stack.placeCall(from, PATIENT);
    const job = await until(() => jobOfCall(callSid), "the job");
    const whatsapp = await until(async () => {
      const sent = await message(job.id, "whatsapp");
      return sent?.provider_sid ? sent : null;
    }, "the send");
    return { callSid, job, whatsapp };
  }

  it("finishes a WhatsApp delivery whose status callbacks never arrive with the status Twilio has, and sends no SMS", async () => {
    const from = caller(7);
    const { callSid, job, whatsapp } = await sentWithoutCallbacks(from);
    // Twilio has it read; none of its three callbacks reached CallFlow.
    await until(async () => stack.sandbox.sends.find((send) => send.to === from)?.status === "read", "read at Twilio");
    expect(stack.sandbox.callbacks.filter((callback) => callback.params.MessageSid === whatsapp.provider_sid)).toEqual(
      [],
    );
    expect(whatsapp.status).toBe("queued");

    stack.advanceClock(31 * MINUTE);
    const output = await stack.reconcile();
    expect(output).toMatchObject({ moved: 1, fetchFailed: 0 });
    // The delivery was still waiting out its minute: the reconciled status ended the wait.
    const final = await stack.finalJob(callSid);
    expect(final).toMatchObject({
      status: "delivered",
      final_channel: "whatsapp",
      final_reason: "delivered by WhatsApp",
    });
    expect(stack.sandbox.sends.filter((send) => send.to === from).map((send) => send.channel)).toEqual(["whatsapp"]);
    expect(await message(job.id, "whatsapp")).toMatchObject({ status: "read", reconcile_after: null });
    expect(await eventsOf(whatsapp.id)).toEqual([{ status: "read", source: "reconciled" }]);
  });

  it("stores a failure Twilio reports when asked with its error code and Twilio's text for it", async () => {
    const from = caller(8);
    const { job, whatsapp } = await sentWithoutCallbacks(from);
    stack.sandbox.setMessageStatus(whatsapp.provider_sid as string, "failed", 30003);

    stack.advanceClock(31 * MINUTE);
    expect(await stack.reconcile()).toMatchObject({ moved: 1, fetchFailed: 0 });
    expect(await message(job.id, "whatsapp")).toMatchObject({
      status: "failed",
      error_code: 30003,
      error_message: "Unreachable destination handset",
    });
  });

  it("never moves a status backwards when Twilio's record does, records it once, and moves it forward later", async () => {
    const from = caller(1);
    // WhatsApp stops at "sent" (its callback arrives); after 10 s the SMS is delivered.
    const callSid = await stack.placeCall(from, HASTY);
    const final = await stack.finalJob(callSid);
    expect(final).toMatchObject({ status: "delivered", final_channel: "sms" });
    const whatsapp = await until(() => message(final.id, "whatsapp"), "the WhatsApp message");
    expect(whatsapp.status).toBe("sent");
    const sid = whatsapp.provider_sid as string;

    stack.sandbox.setMessageStatus(sid, "queued");
    stack.advanceClock(31 * MINUTE);
    await stack.reconcile();
    expect((await message(final.id, "whatsapp"))?.status).toBe("sent");
    // Asked again later: Twilio still says queued, which is no news.
    stack.advanceClock(6 * 60 * MINUTE);
    await stack.reconcile();
    expect((await message(final.id, "whatsapp"))?.status).toBe("sent");
    const reconciled = (await eventsOf(whatsapp.id)).filter((event) => event.source === "reconciled");
    expect(reconciled).toEqual([{ status: "queued", source: "reconciled" }]);

    stack.sandbox.setMessageStatus(sid, "delivered");
    stack.advanceClock(12 * 60 * MINUTE);
    await stack.reconcile();
    expect(await message(final.id, "whatsapp")).toMatchObject({ status: "delivered", reconcile_after: null });
    expect((await eventsOf(whatsapp.id)).filter((event) => event.source === "reconciled")).toEqual([
      { status: "queued", source: "reconciled" },
      { status: "delivered", source: "reconciled" },
    ]);
  });

  it("records an ask Twilio cannot answer (404) and asks again at the next run", async () => {
    const jobId = await stuckJob("sending", { sid: `SM${randomBytes(16).toString("hex")}`, status: "sent" });
    stack.advanceClock(31 * MINUTE);
    const first = (await stack.reconcile()) as { fetchFailed: number };
    expect(first.fetchFailed).toBe(1);
    const failed = await message(jobId, "whatsapp");
    expect(failed?.reconcile_error).toMatch(/^asking Twilio failed: Twilio has no such resource/);
    expect(failed?.status).toBe("sent");
    const second = (await stack.reconcile()) as { fetchFailed: number };
    expect(second.fetchFailed).toBe(1);
  });

  it("finishes jobs that nothing moves with their reason, and leaves jobs deferred to later alone", async () => {
    const pending = await stuckJob("pending");
    const delivered = await stuckJob("sending", { sid: `SM${randomBytes(16).toString("hex")}`, status: "delivered" });
    const deferred = await stuckJob("scheduled", null, new Date(Date.now() + 30 * 24 * 60 * MINUTE));
    stack.advanceClock(3 * 60 * MINUTE);
    await stack.reconcile();
    expect(await stack.finalJobById(pending)).toMatchObject({
      status: "failed",
      final_channel: null,
      final_reason: "stuck pending for over 120 minutes; finished by reconciliation",
    });
    expect(await stack.finalJobById(delivered)).toMatchObject({
      status: "delivered",
      final_channel: "whatsapp",
      final_reason: "delivered by WhatsApp; found by reconciliation",
    });
    const left = await stack.database.withService((tx) =>
      tx.selectFrom("message_jobs").select("status").where("id", "=", deferred).executeTakeFirstOrThrow(),
    );
    expect(left.status).toBe("scheduled");
  });

  /** A job as a run that failed for good (or an event never sent) leaves it, with an optional WhatsApp message. */
  async function stuckJob(
    status: "pending" | "sending" | "scheduled",
    whatsapp: { sid: string; status: "sent" | "delivered" } | null = null,
    sendAfter: Date | null = null,
  ): Promise<string> {
    return stack.database.withService(async (tx) => {
      const call = await tx
        .insertInto("call_logs")
        .values({
          organization_id: ORG,
          call_sid: `CA${randomBytes(16).toString("hex")}`,
          from_number: caller(5),
          to_number: PATIENT,
          status: "no-answer",
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      const job = await tx
        .insertInto("message_jobs")
        .values({
          organization_id: ORG,
          call_log_id: call.id,
          to_number: caller(5),
          decision: sendAfter ? "defer" : "send",
          reason: "missed call",
          status,
          sms_body: "Northside Plumbing missed your call.",
          send_after: sendAfter,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      if (whatsapp)
        await tx
          .insertInto("messages")
          .values({
            organization_id: ORG,
            job_id: job.id,
            channel: "whatsapp",
            provider_sid: whatsapp.sid,
            to_number: caller(5),
            status: whatsapp.status,
            sent_at: new Date(),
          })
          .execute();
      return job.id;
    });
  }
});
