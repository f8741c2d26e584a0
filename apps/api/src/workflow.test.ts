// The after-call workflow end to end in one process: a signed voice callback from the
// Twilio sandbox, call-completed and deliver-message run by @inngest/test, real sends to
// the sandbox over HTTP, and its signed status callbacks through the real webhook. The
// executor's part of each wait is played by ExecutorWaits: the status events the webhook
// sends are offered to the waits, which end on the first that their `if` accepts (CEL).
import type { AddressInfo } from "node:net";
import type { Database } from "@callflow/db";
import { migratedDatabase, type ScratchDatabase, testLanes } from "@callflow/db/testing";
import { startTwilioSandbox, type TwilioSandbox } from "@callflow/devstack";
import { createCallCompleted, createDeliverMessage, createInngestClient, type OutboxEvent } from "@callflow/inngest";
import { waitFilterMatches } from "@callflow/inngest/testing";
import { createTwilioMessaging, statusCallbackUrls } from "@callflow/providers";
import { serve } from "@hono/node-server";
import { InngestTestEngine, mockCtx } from "@inngest/test";
import { sql } from "kysely";
import twilio from "twilio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "./http/app.ts";
import { createLog } from "./log.ts";

const ORG = "org_workflow";
const BUSINESS = "+15125550100";
const ACCOUNT_SID = `AC${"1".repeat(32)}`;
const AUTH_TOKEN = "workflow-test-auth-token";
/** Fallback window of the simulated executor's waits (the job's own is 300 s). */
const WINDOW_MS = 1_500;

type RecordedEvent = OutboxEvent;
type WaitEnd = { step: string; event: string; timeout: string; endedBy: "event" | "timeout"; status?: unknown };

/**
 * What Inngest does with a step.waitForEvent: the wait sees only events sent after it
 * began, of the event name it waits for, and ends with the first one its `if` expression
 * accepts, or with null once its window passes (scaled down to WINDOW_MS here).
 */
class ExecutorWaits {
  readonly ended: WaitEnd[] = [];
  readonly #pending = new Set<(event: RecordedEvent) => boolean>();
  /** Called with each wait's step id as it begins. */
  onBegin: (step: string) => void = () => {};

  begin(
    step: string,
    trigger: unknown,
    opts: { event: { name: string } | string; timeout: string; if?: string },
  ): Promise<RecordedEvent | null> {
    const name = typeof opts.event === "string" ? opts.event : opts.event.name;
    return new Promise((resolve) => {
      const end = (endedBy: WaitEnd["endedBy"], event: RecordedEvent | null) => {
        clearTimeout(timer);
        this.#pending.delete(offer);
        this.ended.push({ step, event: name, timeout: opts.timeout, endedBy, status: event?.data.status });
        resolve(event);
      };
      const offer = (event: RecordedEvent) => {
        const accepted =
          event.name === name && (!opts.if || waitFilterMatches(opts.if, { event: trigger, async: event }));
        if (accepted) end("event", event);
        return accepted;
      };
      const timer = setTimeout(() => end("timeout", null), WINDOW_MS);
      this.#pending.add(offer);
      this.onBegin(step);
    });
  }

  offer(event: RecordedEvent) {
    for (const offer of [...this.#pending]) offer(event);
  }
}

describe.each(testLanes())("after-call workflow on %s", (lane) => {
  let scratch: ScratchDatabase;
  let database: Database;
  let sandbox: TwilioSandbox;
  let publicUrl: string;
  let close: () => Promise<void>;
  const events: RecordedEvent[] = [];
  const waits = new ExecutorWaits();
  /** The outbox rows already handed to the waits, one hand-over at a time. */
  let lastOutboxId = 0;
  let offering = Promise.resolve();
  const inngest = createInngestClient({ isDev: true });

  beforeAll(async () => {
    scratch = await migratedDatabase(lane);
    database = scratch.database;
    await database.withService(async (tx) => {
      await tx
        .insertInto("organizations")
        .values({ id: ORG, name: "Northside Plumbing", timezone: "UTC", quiet_hours: null, cooldown_seconds: 0 })
        .execute();
      await tx.insertInto("phone_numbers").values({ organization_id: ORG, e164: BUSINESS }).execute();
      await tx
        .insertInto("templates")
        .values({
          organization_id: ORG,
          name: "Missed",
          trigger: "missed",
          whatsapp_content_sid: `HX${"c".repeat(32)}`,
          whatsapp_variables: JSON.stringify({ "1": "{{business_name}}" }),
          // Two SMS segments once rendered (this one and the next): usage counts segments too.
          sms_body:
            "{{business_name}} missed your call. We are out on a job and will call you back within the hour. Reply here to tell us what you need, or call us again at any time today.",
        })
        .execute();
      await tx
        .insertInto("templates")
        .values({
          organization_id: ORG,
          name: "After hours",
          trigger: "after_hours",
          whatsapp_content_sid: `HX${"c".repeat(32)}`,
          whatsapp_variables: JSON.stringify({ "1": "{{business_name}}" }),
          sms_body:
            "{{business_name}} is closed now. We open again tomorrow morning and will call you back first thing. Reply here to tell us what you need, and we will bring the right parts along.",
        })
        .execute();
    });
    sandbox = await startTwilioSandbox({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      timing: { sentAfterMs: 20, deliveredAfterMs: 60 },
    });
    let app: ReturnType<typeof createApp> | undefined;
    const server = serve({
      fetch: (request) => (app as NonNullable<typeof app>).fetch(request),
      port: 0,
      hostname: "127.0.0.1",
    });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    app = createApp({
      database,
      verifySession: async () => {
        throw new Error("no sessions in this test");
      },
      log: createLog("silent"),
      webOrigins: [],
      rateLimitPerMinute: 1000,
      maxBodyBytes: 64 * 1024,
      maxBatchSize: 10,
      twilio: { authToken: AUTH_TOKEN, publicUrl },
      // As the relay is woken after a webhook's commit: the new outbox rows go to the waits, as Inngest would.
      outbox: {
        wake: () => {
          offering = offering.then(offerNewEvents);
        },
      },
    });
    close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function offerNewEvents() {
    const { rows } = await sql<RecordedEvent & { seq: number }>`
      select id as seq, name, event_id as id, data from app.event_outbox where id > ${lastOutboxId} order by id`.execute(
      database.owner,
    );
    for (const { seq, ...event } of rows) {
      lastOutboxId = Math.max(lastOutboxId, Number(seq));
      events.push(event);
      waits.offer(event);
    }
  }
  afterAll(async () => {
    await sandbox?.stop();
    await close?.();
    await scratch?.dispose();
  });

  /** A wait that sees no event: the receipts all arrive, but before it began. */
  const missTheWait = async () => {
    await sandbox.whenIdle();
    return null;
  };

  /** Runs deliver-message for a job; each wait ends as the executor's would, or as `wait` says. */
  function deliver(jobId: string, wait?: () => Promise<null>, twilioAt = sandbox) {
    const trigger = { name: "message/job.created", id: jobId, data: { jobId, organizationId: ORG } };
    const begun = new Map<string, Promise<RecordedEvent | null>>();
    return new InngestTestEngine({
      function: createDeliverMessage(inngest, {
        database,
        messaging: createTwilioMessaging({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: twilioAt.url }),
        statusCallbacks: statusCallbackUrls({ publicUrl, authToken: AUTH_TOKEN }),
      }),
      transformCtx: (ctx) => {
        const mocked = mockCtx(ctx);
        // @inngest/test 1.0 cannot hand a memoised wait an event (the SDK validates the
        // mocked promise, not its value), so the wait is replaced in the step tools.
        // The engine calls the function again for each step; a wait, like a step, happens once.
        const waitForEvent = (id: string, opts: Parameters<typeof waits.begin>[2]) => {
          let waited = begun.get(id);
          if (!waited) {
            waited = wait ? wait() : waits.begin(id, trigger, opts);
            begun.set(id, waited);
          }
          return waited;
        };
        return { ...mocked, step: { ...mocked.step, waitForEvent } } as typeof mocked;
      },
    }).execute({ events: [trigger] });
  }

  /** A call from `caller` through the voice webhook, then call-completed: the job it wrote. */
  async function placeAndDecide(caller: string): Promise<string> {
    const placed = await sandbox.placeCall({
      voiceStatusCallback: `${publicUrl}/webhooks/twilio/voice`,
      from: caller,
      to: BUSINESS,
      callStatus: "no-answer",
      durationSeconds: 0,
    });
    expect(placed.status).toBe(200);
    const { rows } = await sql<{ data: Record<string, unknown> }>`
      select data from app.event_outbox where name = 'call/completed' and event_id = ${placed.callSid}`.execute(
      database.owner,
    );
    const callEvent = rows[0];
    expect(callEvent).toBeDefined();
    const decided = await new InngestTestEngine({ function: createCallCompleted(inngest, { database }) }).execute({
      events: [{ name: "call/completed", id: placed.callSid, data: callEvent?.data ?? {} }],
      steps: [{ id: "job-created", handler: () => ({ ids: ["x"] }) }],
    });
    return (decided.result as { jobId: string }).jobId;
  }

  /** A call from `caller` through the voice webhook, then both functions; the job and the sends it made. */
  async function afterCall(caller: string, options: { missWaits?: boolean } = {}) {
    const sendsBefore = sandbox.sends.length;
    const waitsBefore = waits.ended.length;
    const usageBefore = await usage();
    const jobId = await placeAndDecide(caller);
    const delivered = await deliver(jobId, options.missWaits ? missTheWait : undefined);
    const steps = [...new Set(delivered.ctx.step.run.mock.calls.map((call) => call[0] as string))];
    expect(delivered.error).toBeUndefined();
    await sandbox.whenIdle();
    const job = await database.withService((tx) =>
      tx.selectFrom("message_jobs").selectAll().where("id", "=", jobId).executeTakeFirstOrThrow(),
    );
    const sends = sandbox.sends
      .slice(sendsBefore)
      .map((send) => `${send.channel}:${send.accepted ? "accepted" : `refused ${send.errorCode}`}`);
    const usageAfter = await usage();
    const counted = Object.fromEntries(
      Object.entries(usageAfter).map(([key, value]) => [key, value - usageBefore[key as keyof typeof usageBefore]]),
    );
    return { job, sends, result: delivered.result, waits: waits.ended.slice(waitsBefore), counted, steps };
  }

  /** The org's usage counters for this month (UTC), as call-completed reads them for the quota. */
  async function usage() {
    const now = new Date();
    const row = await database.withService((tx) =>
      tx
        .selectFrom("usage_periods")
        .select(["period_start", "period_end", "messages_sent", "whatsapp_sent", "sms_sent", "sms_segments"])
        .where("organization_id", "=", ORG)
        .where("period_start", "<=", now)
        .where("period_end", ">", now)
        .executeTakeFirst(),
    );
    if (row) {
      expect(row.period_start).toEqual(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)));
      expect(row.period_end).toEqual(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)));
    }
    return {
      messages_sent: row?.messages_sent ?? 0,
      whatsapp_sent: row?.whatsapp_sent ?? 0,
      sms_sent: row?.sms_sent ?? 0,
      sms_segments: row?.sms_segments ?? 0,
    };
  }

  /** Posts a status callback for a message the sandbox sent, to its StatusCallback URL, signed as Twilio signs it. */
  async function postStatus(sid: string, status: string) {
    const sent = sandbox.sends.find((send) => send.sid === sid);
    if (!sent?.statusCallback) throw new Error(`the sandbox sent no message ${sid} with a status callback`);
    const address = (number: string) => (sent.channel === "whatsapp" ? `whatsapp:${number}` : number);
    const params = {
      AccountSid: ACCOUNT_SID,
      MessageSid: sid,
      SmsSid: sid,
      MessageStatus: status,
      SmsStatus: status,
      To: address(sent.to),
      From: address(sent.from),
      ApiVersion: "2010-04-01",
    };
    const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, sent.statusCallback, params);
    const response = await fetch(sent.statusCallback, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature },
      body: new URLSearchParams(params),
    });
    expect(response.status).toBe(200);
  }

  it("delivers on WhatsApp and sends no SMS", async () => {
    const { job, sends, waits, counted, steps } = await afterCall("+15125550147");
    expect(sends).toEqual(["whatsapp:accepted"]);
    expect(job).toMatchObject({
      status: "delivered",
      final_channel: "whatsapp",
      final_reason: "delivered by WhatsApp",
    });
    expect(job.completed_at).toBeInstanceOf(Date);
    // Step ids are the memo keys of runs in flight: a deploy that renamed one would run it again.
    expect(steps).toEqual(["load-job", "send-whatsapp", "check-whatsapp", "finish"]);
    const messages = await database.withService((tx) =>
      tx.selectFrom("messages").select(["channel", "status"]).where("job_id", "=", job.id).execute(),
    );
    expect(messages).toEqual([{ channel: "whatsapp", status: "read" }]);
    expect(counted).toEqual({ messages_sent: 1, whatsapp_sent: 1, sms_sent: 0, sms_segments: 0 });
    // What reached Twilio: the template and its variables, from the business's number, with
    // a status callback URL that names the message row.
    const stored = await database.withService((tx) =>
      tx.selectFrom("messages").selectAll().where("job_id", "=", job.id).executeTakeFirstOrThrow(),
    );
    const sent = sandbox.sends.at(-1);
    expect(sent).toMatchObject({
      channel: "whatsapp",
      to: "+15125550147",
      from: BUSINESS,
      contentSid: `HX${"c".repeat(32)}`,
      contentVariables: { "1": "Northside Plumbing" },
    });
    expect(sent?.statusCallback).toMatch(
      new RegExp(`^${publicUrl}/webhooks/twilio/messages/status\\?messageId=${stored.id}&expires=\\d+&token=`),
    );
    expect(stored).toMatchObject({ provider_sid: sent?.sid, to_number: "+15125550147", from_number: BUSINESS });
    expect(stored.sent_at).toBeInstanceOf(Date);
    expect(waits.map((wait) => [wait.step, wait.event, wait.timeout])).toEqual([
      ["wait-for-whatsapp-outcome", "message/status.updated", "300s"],
    ]);
  });

  it("ends the wait when a delivery receipt arrives during it, and sends no SMS", async () => {
    // This caller's WhatsApp only ever reports "sent"; the receipt comes from here, once the wait began.
    let receipt: Promise<void> | undefined;
    let jobWhileWaiting: Promise<string> | undefined;
    waits.onBegin = (step) => {
      const sent = sandbox.sends.at(-1);
      if (step !== "wait-for-whatsapp-outcome" || !sent?.sid) return;
      jobWhileWaiting = database.withService(async (tx) => {
        const message = await tx
          .selectFrom("messages as m")
          .innerJoin("message_jobs as j", "j.id", "m.job_id")
          .select("j.status")
          .where("m.provider_sid", "=", sent.sid)
          .executeTakeFirstOrThrow();
        return message.status;
      });
      receipt = jobWhileWaiting.then(() => postStatus(sent.sid as string, "delivered"));
    };
    try {
      const started = Date.now();
      const { job, sends, waits: ended, counted } = await afterCall("+15125550151");
      await receipt;
      expect(await jobWhileWaiting).toBe("sending");
      expect(sends).toEqual(["whatsapp:accepted"]);
      expect(job).toMatchObject({
        status: "delivered",
        final_channel: "whatsapp",
        final_reason: "delivered by WhatsApp",
      });
      expect(ended).toEqual([
        expect.objectContaining({ step: "wait-for-whatsapp-outcome", endedBy: "event", status: "delivered" }),
      ]);
      expect(Date.now() - started).toBeLessThan(WINDOW_MS);
      expect(counted).toEqual({ messages_sent: 1, whatsapp_sent: 1, sms_sent: 0, sms_segments: 0 });
    } finally {
      waits.onBegin = () => {};
    }
  });

  it("keeps waiting through a receipt that is not final, and falls back when the window passes", async () => {
    // WhatsApp reports "sent" and no more: the wait is offered it and lets it pass.
    const { job, sends, waits: ended, counted } = await afterCall("+15125550141");
    expect(sends).toEqual(["whatsapp:accepted", "sms:accepted"]);
    expect(job).toMatchObject({ status: "delivered", final_channel: "sms" });
    // The SMS wait's end is not checked: its receipt may come before the wait begins on a busy machine.
    expect(ended.map((wait) => wait.step)).toEqual(["wait-for-whatsapp-outcome", "wait-for-sms-outcome"]);
    expect(ended[0]?.endedBy).toBe("timeout");
    // One message to the caller (the quota counts it once, when it is decided), sent on two channels.
    expect(counted).toEqual({ messages_sent: 1, whatsapp_sent: 1, sms_sent: 1, sms_segments: 2 });
  });

  it("goes to SMS at once for a number not on WhatsApp, and remembers it", async () => {
    const { job, sends, waits, counted } = await afterCall("+15125550140");
    expect(sends).toEqual(["whatsapp:refused 63024", "sms:accepted"]);
    expect(job).toMatchObject({ status: "delivered", final_channel: "sms" });
    // At once: no wait for WhatsApp, which refused the send.
    expect(waits.map((wait) => wait.step)).toEqual(["wait-for-sms-outcome"]);
    const contact = await database.withService((tx) =>
      tx.selectFrom("contacts").select("whatsapp_status").where("e164", "=", "+15125550140").executeTakeFirstOrThrow(),
    );
    expect(contact.whatsapp_status).toBe("unavailable");
    // A refused send is no message sent.
    expect(counted).toEqual({ messages_sent: 1, whatsapp_sent: 0, sms_sent: 1, sms_segments: 2 });
  });

  it("fails the job with both reasons when WhatsApp fails and SMS is undelivered", async () => {
    const { job, sends, waits } = await afterCall("+15125550142");
    expect(sends).toEqual(["whatsapp:accepted", "sms:accepted"]);
    expect(job.status).toBe("failed");
    expect(job.final_reason).toBe("whatsapp: failed (63016); sms: undelivered (30003)");
    expect(waits.map((wait) => wait.step)).toEqual(["wait-for-whatsapp-outcome", "wait-for-sms-outcome"]);
    // A retried run finds both attempts failed: no send again, the same verdict from what is stored.
    await database.withService((tx) =>
      tx.updateTable("message_jobs").set({ status: "sending", completed_at: null }).where("id", "=", job.id).execute(),
    );
    const sendsBefore = sandbox.sends.length;
    expect((await deliver(job.id)).error).toBeUndefined();
    expect(sandbox.sends.length).toBe(sendsBefore);
    expect(await jobRow(job.id)).toMatchObject({
      status: "failed",
      final_reason: "whatsapp: failed; sms: undelivered",
    });
    expect((await deliver(job.id)).result).toEqual({ status: "failed", reason: "already final" });
  });

  it("reads the outcome from the database when the receipt came before the wait", async () => {
    const { job, sends } = await afterCall("+15125550143", { missWaits: true });
    expect(sends).toEqual(["whatsapp:accepted"]);
    expect(job).toMatchObject({ status: "delivered", final_channel: "whatsapp" });
  });

  it("does not send again when a run is retried after the send was accepted", async () => {
    const { job } = await afterCall("+15125550145");
    // As if the run died after Twilio accepted the message but before its step was recorded.
    await database.withService((tx) =>
      tx.updateTable("message_jobs").set({ status: "sending", completed_at: null }).where("id", "=", job.id).execute(),
    );
    const sendsBefore = sandbox.sends.length;
    const usageBefore = await usage();
    expect((await deliver(job.id)).error).toBeUndefined();
    expect(sandbox.sends.length).toBe(sendsBefore);
    expect(await usage()).toEqual(usageBefore);
    const again = await database.withService((tx) =>
      tx
        .selectFrom("message_jobs")
        .select(["status", "final_channel"])
        .where("id", "=", job.id)
        .executeTakeFirstOrThrow(),
    );
    expect(again).toEqual({ status: "delivered", final_channel: "whatsapp" });
  });

  it("records every status callback, and a late one never moves the status back", async () => {
    const { job } = await afterCall("+15125550144");
    const message = await database.withService((tx) =>
      tx
        .selectFrom("messages")
        .select(["id", "provider_sid", "status"])
        .where("job_id", "=", job.id)
        .executeTakeFirstOrThrow(),
    );
    expect(message.status).toBe("read");
    // Late and out of order, each for the first time: the receipts are kept, the status stays.
    await postStatus(message.provider_sid as string, "queued");
    await postStatus(message.provider_sid as string, "failed");
    const events = await database.withService((tx) =>
      tx
        .selectFrom("message_events")
        .select("status")
        .where("message_id", "=", message.id)
        .orderBy("received_at")
        .execute(),
    );
    expect(events.map((event) => event.status)).toEqual(["sent", "delivered", "read", "queued", "failed"]);
    const after = await database.withService((tx) =>
      tx.selectFrom("messages").select("status").where("id", "=", message.id).executeTakeFirstOrThrow(),
    );
    expect(after.status).toBe("read");
  });

  const jobRow = (jobId: string) =>
    database.withService((tx) =>
      tx.selectFrom("message_jobs").selectAll().where("id", "=", jobId).executeTakeFirstOrThrow(),
    );
  const messagesOf = (jobId: string) =>
    database.withService((tx) =>
      tx
        .selectFrom("messages")
        .select(["channel", "status", "error_code"])
        .where("job_id", "=", jobId)
        .orderBy("created_at")
        .execute(),
    );

  it("sends again once Twilio accepts, after a refusal worth retrying (429)", async () => {
    const jobId = await placeAndDecide("+15125550146");
    const usageBefore = await usage();
    sandbox.refuseNextSend({ httpStatus: 429, code: 20429, message: "Too Many Requests" });
    const refused = await deliver(jobId);
    expect(refused.error).toMatchObject({ message: expect.stringMatching(/^WhatsApp send failed, will retry: /) });
    // The claim is released, so the retried step sends; nothing was counted.
    expect(await messagesOf(jobId)).toEqual([]);
    expect(await usage()).toEqual(usageBefore);
    expect((await deliver(jobId)).error).toBeUndefined();
    await sandbox.whenIdle();
    expect(await jobRow(jobId)).toMatchObject({ status: "delivered", final_channel: "whatsapp" });
    expect(sandbox.sends.slice(-2).map((send) => [send.channel, send.accepted, send.errorCode])).toEqual([
      ["whatsapp", false, 20429],
      ["whatsapp", true, null],
    ]);
  });

  it("goes on to SMS after a WhatsApp refusal that will not succeed, without marking the number", async () => {
    const jobId = await placeAndDecide("+15125550148");
    sandbox.refuseNextSend({ httpStatus: 400, code: 21656, message: `Invalid Content Variables: ${"x".repeat(1200)}` });
    expect((await deliver(jobId)).error).toBeUndefined();
    await sandbox.whenIdle();
    const [refused] = await database.withService((tx) =>
      tx
        .selectFrom("messages")
        .select("error_message")
        .where("job_id", "=", jobId)
        .where("channel", "=", "whatsapp")
        .execute(),
    );
    // Twilio's words are kept, up to 1,000 characters.
    expect(refused?.error_message).toHaveLength(1000);
    expect(await jobRow(jobId)).toMatchObject({
      status: "delivered",
      final_channel: "sms",
      final_reason: "delivered by SMS",
    });
    expect(await messagesOf(jobId)).toEqual([
      { channel: "whatsapp", status: "failed", error_code: 21656 },
      { channel: "sms", status: "delivered", error_code: null },
    ]);
    const contact = await database.withService((tx) =>
      tx.selectFrom("contacts").select("whatsapp_status").where("e164", "=", "+15125550148").executeTakeFirstOrThrow(),
    );
    expect(contact.whatsapp_status).toBe("unknown");
  });

  it("leaves a finished job as it is, and refuses a skipped or unknown one for good", async () => {
    const { job } = await afterCall("+15125550149");
    const sendsBefore = sandbox.sends.length;
    expect((await deliver(job.id)).result).toEqual({ status: "delivered", reason: "already final" });
    expect(sandbox.sends.length).toBe(sendsBefore);
    expect(await jobRow(job.id)).toEqual(job);

    await database.withService((tx) =>
      tx.updateTable("message_jobs").set({ decision: "skip", status: "skipped" }).where("id", "=", job.id).execute(),
    );
    expect((await deliver(job.id)).error).toMatchObject({
      name: "NonRetriableError",
      message: `message job ${job.id} was skipped; nothing to deliver`,
    });
    const unknown = "00000000-0000-4000-8000-000000000000";
    expect((await deliver(unknown)).error).toMatchObject({
      name: "NonRetriableError",
      message: `message job ${unknown} does not exist`,
    });
  });

  // Called from +15125550140 earlier: known not to be on WhatsApp, so these jobs are SMS only.
  const SMS_ONLY_CALLER = "+15125550140";

  it("fails an SMS-only job that Twilio refuses, with Twilio's reason cut to what the job keeps", async () => {
    const jobId = await placeAndDecide(SMS_ONLY_CALLER);
    expect((await jobRow(jobId)).channels).toEqual(["sms"]);
    sandbox.refuseNextSend({ httpStatus: 400, code: 21211, message: `Invalid 'To' Phone Number: ${"9".repeat(600)}` });
    expect((await deliver(jobId)).error).toBeUndefined();
    const job = await jobRow(jobId);
    expect(job).toMatchObject({ status: "failed", final_channel: null });
    expect(job.final_reason).toMatch(/^sms: The 'To' phone number is not a valid phone number\./);
    expect(job.final_reason).toHaveLength(500);
  });

  it("does not count a claimed SMS that never reached Twilio as delivered", async () => {
    // As if a run died between writing its attempt and calling Twilio: the claim is there, pending.
    const jobId = await placeAndDecide(SMS_ONLY_CALLER);
    await database.withService(async (tx) => {
      const job = await tx.selectFrom("message_jobs").selectAll().where("id", "=", jobId).executeTakeFirstOrThrow();
      await tx
        .insertInto("messages")
        .values({
          organization_id: ORG,
          job_id: jobId,
          channel: "sms",
          to_number: job.to_number,
          from_number: BUSINESS,
        })
        .execute();
    });
    const sendsBefore = sandbox.sends.length;
    expect((await deliver(jobId)).error).toBeUndefined();
    expect(sandbox.sends.length).toBe(sendsBefore);
    expect(await jobRow(jobId)).toMatchObject({
      status: "failed",
      final_reason: "sms: no delivery receipt within 300 s",
    });
  });

  it("fails a job with no channel to try", async () => {
    const jobId = await placeAndDecide("+15125550154");
    await database.withService((tx) =>
      tx.updateTable("message_jobs").set({ channels: [] }).where("id", "=", jobId).execute(),
    );
    const sendsBefore = sandbox.sends.length;
    expect((await deliver(jobId)).error).toBeUndefined();
    expect(sandbox.sends.length).toBe(sendsBefore);
    expect(await jobRow(jobId)).toMatchObject({
      status: "failed",
      final_channel: null,
      final_reason: "no channel to try",
    });
  });

  it("counts an SMS that the carrier never confirms as delivered, once the window passes", async () => {
    // A Twilio whose receipts come long after the windows: WhatsApp times out, SMS stays "sent".
    const slow = await startTwilioSandbox({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      timing: { sentAfterMs: 20, deliveredAfterMs: 60_000 },
    });
    try {
      const jobId = await placeAndDecide("+15125550153");
      expect((await deliver(jobId, undefined, slow)).error).toBeUndefined();
      expect(await jobRow(jobId)).toMatchObject({
        status: "delivered",
        final_channel: "sms",
        final_reason: "SMS sent; the carrier sent no delivery receipt",
      });
      // The same for a job that had SMS only.
      const smsOnly = await placeAndDecide(SMS_ONLY_CALLER);
      expect((await deliver(smsOnly, undefined, slow)).error).toBeUndefined();
      expect(await jobRow(smsOnly)).toMatchObject({
        status: "delivered",
        final_reason: "SMS sent; the carrier sent no delivery receipt",
      });
    } finally {
      await slow.stop();
    }
  });
});
