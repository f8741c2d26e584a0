// The after-call workflow end to end in one process, as local mode runs it: signed voice
// callbacks from the Twilio sandbox, the outbox relay, the local executor driving
// call-completed and deliver-message in Inngest Cloud's protocol, real sends to the sandbox
// over HTTP, and its signed status callbacks through the real webhook. Twilio behaves as it
// does in production: "not on WhatsApp" arrives by callback after the send was accepted,
// an unsubscribed recipient is refused with 21610, a failing API is retried.
import type { Database } from "@callflow/db";
import { testLanes } from "@callflow/db/testing";
import { createCallCompleted, createInngestClient } from "@callflow/inngest";
import { InngestTestEngine } from "@inngest/test";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkflowTestStack, type WorkflowTestStack } from "./workflow-test-stack.ts";

const ORG = "org_workflow";
const MAIN = "+15125550100";
const QUIET_ORG = "org_workflow_quiet";
const QUIET_NUMBER = "+15125550102";
const WAKING_ORG = "org_workflow_waking";
const WAKING_NUMBER = "+15125550103";
/** Six businesses that send WhatsApp from one shared sender: a burst on it without any business's own pace. */
const SHARED_SENDER = "+15125550199";
const BURST_ORGS = [1, 2, 3, 4, 5, 6].map((n) => ({ id: `org_workflow_burst_${n}`, number: `+1512555012${n}` }));
const WINDOW_S = 10;
const DAY_MS = 86_400_000;
const HX = (c: string) => `HX${c.repeat(32)}`;

async function business(database: Database, org: { id: string; number: string; whatsappSender?: string }) {
  await database.withService(async (tx) => {
    await tx
      .insertInto("organizations")
      .values({
        id: org.id,
        name: "Northside Plumbing",
        timezone: "UTC",
        quiet_hours: null,
        cooldown_seconds: 0,
        fallback_window_seconds: WINDOW_S,
        trigger_outcomes: ["missed", "answered", "voicemail"],
        whatsapp_sender: org.whatsappSender ?? null,
      })
      .execute();
    await tx.insertInto("phone_numbers").values({ organization_id: org.id, e164: org.number }).execute();
    await tx.insertInto("subscriptions").values({ organization_id: org.id, plan: "pro", status: "active" }).execute();
    await tx
      .insertInto("templates")
      .values([
        {
          organization_id: org.id,
          name: "Missed",
          trigger: "missed",
          whatsapp_content_sid: HX("c"),
          whatsapp_variables: JSON.stringify({ "1": "{{business_name}}" }),
          sms_body: "{{business_name}} missed your call.",
        },
        // SMS only: no WhatsApp content.
        {
          organization_id: org.id,
          name: "Voicemail",
          trigger: "voicemail",
          sms_body: "{{business_name}} got your voicemail.",
        },
        {
          organization_id: org.id,
          name: "Offer",
          trigger: "answered",
          whatsapp_content_sid: HX("d"),
          whatsapp_category: "marketing",
          whatsapp_variables: JSON.stringify({ "1": "{{business_name}}" }),
          sms_body: "Thanks for calling {{business_name}}: 10% off your next visit.",
        },
      ])
      .execute();
  });
}

/** The most sends that fall within any `windowMs` of each other. */
function mostWithin(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while ((sorted[last] as number) - (sorted[first] as number) >= windowMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

describe.each(testLanes())("after-call workflow through the local executor on %s", (lane) => {
  let stack: WorkflowTestStack;
  let next = 100;
  /** A caller of its own for each call; the last digit picks the sandbox's behaviour. */
  const caller = (lastDigit: number) => `+1737555${String(next++).padStart(3, "0")}${lastDigit}`;
  const sendsTo = (to: string) =>
    stack.sandbox.sends
      .filter((send) => send.to === to)
      .map((send) => `${send.channel}:${send.accepted ? "accepted" : `refused ${send.errorCode}`}`);

  beforeAll(async () => {
    stack = await startWorkflowTestStack(lane, {
      // One message a second on WhatsApp, so a burst of a few shows the pace.
      senderRates: { whatsapp: 1 },
      seed: async (database) => {
        await business(database, { id: ORG, number: MAIN });
        await business(database, { id: QUIET_ORG, number: QUIET_NUMBER });
        await business(database, { id: WAKING_ORG, number: WAKING_NUMBER });
        for (const org of BURST_ORGS) await business(database, { ...org, whatsappSender: SHARED_SENDER });
      },
    });
  });
  afterAll(() => stack?.stop());

  it("delivers on WhatsApp and sends no SMS", async () => {
    const from = caller(7);
    const job = await stack.finalJob(await stack.placeCall(from, MAIN));
    expect(job).toMatchObject({
      status: "delivered",
      final_channel: "whatsapp",
      final_reason: "delivered by WhatsApp",
    });
    expect(sendsTo(from)).toEqual(["whatsapp:accepted"]);
  });

  it("finds a receipt the wait never heard of at its second look, a few seconds in, not at the window's end", async () => {
    // As when a receipt lands between the look before waiting and the wait's start: the status
    // is in the database, but no event reaches the wait (here, Twilio's callbacks are lost).
    const from = caller(7);
    stack.sandbox.loseStatusCallbacksTo(from);
    const callSid = await stack.placeCall(from, MAIN);
    const jobIdOf = () =>
      stack.database.withService((tx) =>
        tx
          .selectFrom("message_jobs")
          .innerJoin("call_logs", "call_logs.id", "message_jobs.call_log_id")
          .select("message_jobs.id")
          .where("call_logs.call_sid", "=", callSid)
          .executeTakeFirst(),
      );
    await expect.poll(jobIdOf, { timeout: 10_000 }).toBeDefined();
    const jobId = (await jobIdOf())?.id;
    // Only once the run waits: the receipt comes after every look before the wait.
    const waiting = async () =>
      (await stack.executor.runs()).some(
        (run) =>
          run.functionId.endsWith("deliver-message") &&
          (run.event.data as { jobId?: string }).jobId === jobId &&
          run.status === "waiting",
      );
    await expect.poll(waiting, { timeout: 10_000, interval: 20 }).toBe(true);
    await stack.database.withService((tx) =>
      sql`update public.messages set status = 'delivered', status_changed_at = now()
           where job_id = ${jobId ?? null} and channel = 'whatsapp'`.execute(tx),
    );
    const job = await stack.finalJob(callSid);
    expect(job).toMatchObject({
      status: "delivered",
      final_channel: "whatsapp",
      final_reason: "delivered by WhatsApp",
    });
    const [whatsapp] = await stack.messagesOf(job.id);
    const finishedAfterMs = (job.completed_at as Date).getTime() - (whatsapp as { sent_at: Date }).sent_at.getTime();
    expect(finishedAfterMs).toBeLessThan((WINDOW_S * 1000) / 2);
    expect(sendsTo(from)).toEqual(["whatsapp:accepted"]);
  });

  it("takes a WhatsApp failure reported by callback (63024) as not on WhatsApp: SMS at once, SMS first next time, WhatsApp again once the mark expires", async () => {
    const from = caller(0);
    const first = await stack.finalJob(await stack.placeCall(from, MAIN));
    expect(first).toMatchObject({ status: "delivered", final_channel: "sms" });
    expect(sendsTo(from)).toEqual(["whatsapp:accepted", "sms:accepted"]);
    const [whatsapp] = await stack.messagesOf(first.id);
    expect(whatsapp).toMatchObject({ channel: "whatsapp", status: "failed", error_code: 63024 });
    // The failed status ended the wait: the job finished well inside the fallback window.
    const finishedAfterMs = (first.completed_at as Date).getTime() - (whatsapp as { sent_at: Date }).sent_at.getTime();
    expect(finishedAfterMs).toBeLessThan((WINDOW_S * 1000) / 2);

    const second = await stack.finalJob(await stack.placeCall(from, MAIN));
    expect(second).toMatchObject({ status: "delivered", final_channel: "sms", channels: ["sms"] });
    expect(second.reason).toBe("missed call; SMS: the number is not on WhatsApp");
    expect(sendsTo(from)).toEqual(["whatsapp:accepted", "sms:accepted", "sms:accepted"]);

    stack.advanceClock(31 * DAY_MS);
    try {
      const third = await stack.finalJob(await stack.placeCall(from, MAIN));
      expect(third.channels).toEqual(["whatsapp", "sms"]);
      expect(sendsTo(from).slice(3)).toEqual(["whatsapp:accepted", "sms:accepted"]);
    } finally {
      stack.advanceClock(-31 * DAY_MS);
    }
  });

  it("falls back to SMS when WhatsApp reports no delivery within the window", async () => {
    const from = caller(1);
    const job = await stack.finalJob(await stack.placeCall(from, MAIN), 60_000);
    expect(job).toMatchObject({ status: "delivered", final_channel: "sms" });
    expect(sendsTo(from)).toEqual(["whatsapp:accepted", "sms:accepted"]);
  });

  it("fails the job with every reason when both channels fail", async () => {
    const from = caller(2);
    const job = await stack.finalJob(await stack.placeCall(from, MAIN));
    expect(job.status).toBe("failed");
    expect(job.final_reason).toBe("whatsapp: failed (63016); sms: undelivered (30003)");
  });

  it("delivers by SMS when the WhatsApp send fails on every retry", async () => {
    const from = caller(7);
    // Twilio's API down for WhatsApp's first attempt and its four retries.
    for (let i = 0; i < 5; i++) {
      stack.sandbox.refuseNextSend({ httpStatus: 500, code: 20500, message: "Internal server error" });
    }
    const job = await stack.finalJob(await stack.placeCall(from, MAIN));
    expect(job).toMatchObject({ status: "delivered", final_channel: "sms" });
    expect(sendsTo(from)).toEqual([...Array(5).fill("whatsapp:refused 20500"), "sms:accepted"]);
    const [whatsapp] = await stack.messagesOf(job.id);
    expect(whatsapp).toMatchObject({ channel: "whatsapp", status: "failed" });
    expect(whatsapp?.error_message).toMatch(
      /^not sent, retries exhausted: WhatsApp send failed, will retry: Twilio had an internal server error/,
    );
  });

  it("ends the wait at once when the receipt was stored before the wait began", async () => {
    const from = caller(5);
    // Twilio's receipts reach the webhook before its answer to the send reaches the step.
    stack.onSend(async (_channel, to, result) => {
      if (to !== from || !result.ok) return;
      while (
        !stack.sandbox.callbacks.some(
          (c) =>
            c.params.MessageSid === result.sid && c.params.MessageStatus === "delivered" && c.responseStatus === 200,
        )
      ) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });
    try {
      const job = await stack.finalJob(await stack.placeCall(from, MAIN));
      expect(job).toMatchObject({ status: "delivered", final_channel: "whatsapp" });
      const [whatsapp] = await stack.messagesOf(job.id);
      const finishedAfterMs = (job.completed_at as Date).getTime() - (whatsapp as { sent_at: Date }).sent_at.getTime();
      expect(finishedAfterMs).toBeLessThan((WINDOW_S * 1000) / 2);
    } finally {
      stack.onSend(null);
    }
  });

  it("withholds the SMS and cancels the job when the caller texts STOP while WhatsApp has its chance", async () => {
    const from = caller(2);
    stack.onSend(async (channel, to) => {
      if (to === from && channel === "whatsapp") expect(await stack.text(from, MAIN, "STOP")).toBe(200);
    });
    try {
      const job = await stack.finalJob(await stack.placeCall(from, MAIN));
      expect(job).toMatchObject({
        status: "canceled",
        final_reason: "canceled before the SMS send: the caller opted out",
      });
      expect(sendsTo(from)).toEqual(["whatsapp:accepted"]);
    } finally {
      stack.onSend(null);
    }
  });

  it("records Twilio's 21610 as the caller's opt-out from the carrier and ends the job with that reason", async () => {
    const from = caller(9);
    const job = await stack.finalJob(await stack.placeCall(from, MAIN, "voicemail"));
    expect(job).toMatchObject({
      status: "canceled",
      final_reason: `canceled: the caller unsubscribed from ${MAIN} at their carrier (Twilio 21610); recorded as their opt-out`,
    });
    expect(sendsTo(from)).toEqual(["sms:refused 21610"]);
    const ledger = await stack.database.withService((tx) =>
      tx
        .selectFrom("consent_events as e")
        .innerJoin("contacts as c", "c.id", "e.contact_id")
        .select(["e.action", "e.source", "e.actor", "c.opted_out_at"])
        .where("c.e164", "=", from)
        .execute(),
    );
    expect(ledger).toEqual([
      { action: "opt_out", source: "carrier", actor: "twilio_21610", opted_out_at: expect.any(Date) },
    ]);
    const again = await stack.finalJob(await stack.placeCall(from, MAIN, "voicemail"));
    expect(again).toMatchObject({ status: "skipped", reason: "the caller opted out" });
    expect(sendsTo(from)).toEqual(["sms:refused 21610"]);
  });

  it("sends a marketing template to a +1 number by SMS only, saying why", async () => {
    const from = caller(7);
    const job = await stack.finalJob(await stack.placeCall(from, MAIN, "answered"));
    expect(job).toMatchObject({ status: "delivered", final_channel: "sms", channels: ["sms"] });
    expect(job.reason).toBe(
      "answered call; SMS: WhatsApp does not deliver marketing templates to +1 numbers (Twilio 63049)",
    );
    expect(sendsTo(from)).toEqual(["sms:accepted"]);
  });

  it("does not send again when a channel's run is repeated after its send was accepted", async () => {
    const from = caller(4);
    const job = await stack.finalJob(await stack.placeCall(from, MAIN));
    // As if the run had died after Twilio accepted the message but before its step was recorded.
    await stack.database.withService((tx) =>
      tx.updateTable("message_jobs").set({ status: "sending", completed_at: null }).where("id", "=", job.id).execute(),
    );
    await stack.requestDelivery({ jobId: job.id, organizationId: ORG, channel: "whatsapp", from: MAIN }, "repeat");
    const again = await stack.finalJobById(job.id);
    expect(again).toMatchObject({ status: "delivered", final_channel: "whatsapp" });
    expect(sendsTo(from)).toEqual(["whatsapp:accepted"]);
  });

  it("keeps each sender to its pace under a burst, counted in the sandbox's sends", async () => {
    const firstSend = stack.sandbox.sends.length;
    // Six businesses' calls at once, all on the shared WhatsApp sender (1 a second here), and
    // five voicemails to one business, answered by SMS from its long code (1 a second).
    const calls = await Promise.all([
      ...BURST_ORGS.map((org) => stack.placeCall(caller(7), org.number)),
      ...[1, 2, 3, 4, 5].map(() => stack.placeCall(caller(8), MAIN, "voicemail")),
    ]);
    for (const callSid of calls) expect((await stack.finalJob(callSid, 60_000)).status).toBe("delivered");
    const burst = stack.sandbox.sends.slice(firstSend);
    const timesFrom = (channel: string, from: string) =>
      burst.filter((send) => send.channel === channel && send.from === from).map((send) => send.createdAt.getTime());
    const whatsapp = timesFrom("whatsapp", SHARED_SENDER);
    const sms = timesFrom("sms", MAIN);
    expect([whatsapp.length, sms.length]).toEqual([6, 5]);
    // The throttle starts runs a second apart; a send follows its run's start by a step or
    // two, later on a loaded machine. Allowing that lag up to 2 s: at most 3 sends in any
    // second, and first to last at least 3 s. Unthrottled, all of them go within a second.
    for (const times of [whatsapp, sms]) {
      expect(mostWithin(times, 1000)).toBeLessThanOrEqual(3);
      expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual((times.length - 1) * 1000 - 2000);
    }
    // The pace is each sender's own: one sender's queue does not hold up the other.
    expect(Math.min(...sms)).toBeLessThan(Math.max(...whatsapp));
  });

  it("cancels a job deferred by quiet hours when the caller texts STOP before they end, and sends nothing", async () => {
    // Quiet hours around now (UTC), so the call is deferred for a couple of hours.
    const hour = new Date().getUTCHours();
    const at = (h: number) => `${String((h + 24) % 24).padStart(2, "0")}:00`;
    await stack.database.withService((tx) =>
      tx
        .updateTable("organizations")
        .set({ quiet_hours: JSON.stringify({ start: at(hour - 1), end: at(hour + 2) }) })
        .where("id", "=", QUIET_ORG)
        .execute(),
    );
    const from = caller(7);
    const callSid = await stack.placeCall(from, QUIET_NUMBER);
    const event = await waitFor(async () => {
      const { rows } = await sql<{ data: Record<string, unknown> }>`
        select data from app.event_outbox where name = 'call/completed' and event_id = ${callSid}`.execute(
        stack.database.owner,
      );
      return rows[0];
    });
    await waitFor(async () => (await jobOf(callSid))?.status === "scheduled");
    // The executor's run sleeps until the quiet hours end. The same run, replayed step by step
    // with its sleep standing for the night: the caller texts STOP through the webhook meanwhile.
    const { result, ctx } = await new InngestTestEngine({
      function: createCallCompleted(createInngestClient({ isDev: true }), { database: stack.database }),
    }).execute({
      events: [{ name: "call/completed", id: callSid, data: event?.data ?? {} }],
      steps: [
        {
          id: "wait-for-quiet-hours-to-end",
          handler: async () => {
            expect(await stack.text(from, QUIET_NUMBER, "STOP")).toBe(200);
            return null;
          },
        },
      ],
    });
    expect(result).toMatchObject({ decision: "defer", canceled: "canceled: the caller opted out before it was sent" });
    expect(ctx.step.sendEvent).not.toHaveBeenCalled();
    expect(await jobOf(callSid)).toMatchObject({
      status: "canceled",
      final_reason: "canceled: the caller opted out before it was sent",
    });
    expect(sendsTo(from)).toEqual([]);
  });

  it("wakes a job deferred by quiet hours to find the caller's STOP: the executor's run ends canceled and requests no delivery", async () => {
    // Quiet hours that end at the next minute, so the executor's run really wakes; with at
    // least 15 s left in this minute for the call to be deferred and the STOP to arrive.
    if (new Date().getUTCSeconds() >= 45)
      await new Promise((resolve) => setTimeout(resolve, (61 - new Date().getUTCSeconds()) * 1000));
    const now = new Date();
    const hhmm = (minutes: number) => {
      const m = (minutes + 24 * 60) % (24 * 60);
      return `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
    };
    const minuteOfDay = now.getUTCHours() * 60 + now.getUTCMinutes();
    await stack.database.withService((tx) =>
      tx
        .updateTable("organizations")
        .set({ quiet_hours: JSON.stringify({ start: hhmm(minuteOfDay - 60), end: hhmm(minuteOfDay + 1) }) })
        .where("id", "=", WAKING_ORG)
        .execute(),
    );
    const from = caller(7);
    const callSid = await stack.placeCall(from, WAKING_NUMBER);
    await waitFor(async () => (await jobOf(callSid))?.status === "scheduled");
    expect(await stack.text(from, WAKING_NUMBER, "STOP")).toBe(200);

    const runOf = async (functionId: string, matches: (data: Record<string, unknown>) => boolean) =>
      (await stack.executor.runs()).find(
        (run) => run.functionId.endsWith(functionId) && matches(run.event.data as Record<string, unknown>),
      );
    const run = await waitFor(async () => {
      const found = await runOf("call-completed", (data) => data.callSid === callSid);
      return found?.status === "completed" ? found : undefined;
    }, 90_000);
    expect(run.output).toMatchObject({
      decision: "defer",
      canceled: "canceled: the caller opted out before it was sent",
    });
    // It ended after its sleep, not before: the run really woke at the end of quiet hours.
    const { sendAfter } = run.output as { sendAfter: string };
    expect((run.endedAt as Date).getTime()).toBeGreaterThanOrEqual(Date.parse(sendAfter));
    const job = await jobOf(callSid);
    expect(job).toMatchObject({
      status: "canceled",
      final_reason: "canceled: the caller opted out before it was sent",
    });
    expect(await runOf("deliver-message", (data) => data.jobId === job?.id)).toBeUndefined();
    expect(sendsTo(from)).toEqual([]);
  }, 120_000);

  const jobOf = (callSid: string) =>
    stack.database.withService((tx) =>
      tx
        .selectFrom("message_jobs as j")
        .innerJoin("call_logs as c", "c.id", "j.call_log_id")
        .select(["j.id", "j.status", "j.final_reason"])
        .where("c.call_sid", "=", callSid)
        .executeTakeFirst(),
    );
});

async function waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not so within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
