// The after-call workflow end to end in one process: a signed voice callback from the
// Twilio sandbox, call-completed and deliver-message run by @inngest/test, real sends to
// the sandbox over HTTP, and its signed status callbacks through the real webhook.
import type { AddressInfo } from "node:net";
import type { Database } from "@callflow/db";
import { migratedDatabase, type ScratchDatabase, testLanes } from "@callflow/db/testing";
import { startTwilioSandbox, type TwilioSandbox } from "@callflow/devstack";
import { createCallCompleted, createDeliverMessage, createInngestClient } from "@callflow/inngest";
import { createTwilioMessaging, createTwilioNumbers, statusCallbackUrls } from "@callflow/providers";
import { serve } from "@hono/node-server";
import { InngestTestEngine, mockCtx } from "@inngest/test";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "./http/app.ts";
import { createLog } from "./log.ts";

const ORG = "org_workflow";
const BUSINESS = "+15125550100";
const ACCOUNT_SID = `AC${"1".repeat(32)}`;
const AUTH_TOKEN = "workflow-test-auth-token";
/** Fallback window of the simulated executor's waits (the job's own is 300 s). */
const WINDOW_MS = 1_500;

describe.each(testLanes())("after-call workflow on %s", (lane) => {
  let scratch: ScratchDatabase;
  let database: Database;
  let sandbox: TwilioSandbox;
  let publicUrl: string;
  let close: () => Promise<void>;
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
          sms_body: "{{business_name}} missed your call.",
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
          sms_body: "{{business_name}} is closed.",
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
      // No relay: the test reads the events the webhooks wrote to the outbox.
      twilio: { authToken: AUTH_TOKEN, publicUrl },
    });
    close = () => new Promise<void>((resolve) => server.close(() => resolve()));
    // The business number's calls come through the voice webhooks, as phoneNumbers.add sets them.
    const numbers = createTwilioNumbers({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      baseUrl: sandbox.url,
      publicUrl,
    });
    const owned = await numbers.findOwned(BUSINESS);
    if (owned) await numbers.connect(owned);
  });
  afterAll(async () => {
    await sandbox?.stop();
    await close?.();
    await scratch?.dispose();
  });

  const messaging = () =>
    createTwilioMessaging({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: sandbox.url });

  /**
   * The executor's part of a wait: it ends when the message's status becomes final or the
   * window passes. It answers null either way: the function reads the outcome from the
   * database. (@inngest/test 1.0 validates a mocked wait's result before awaiting it, so
   * waits are replaced in the step tools instead of mocked as steps.)
   */
  const waitForFinalStatus = (jobId: string, channel: string) => async () => {
    const deadline = Date.now() + WINDOW_MS;
    while (Date.now() < deadline) {
      const message = await database.withService((tx) =>
        tx
          .selectFrom("messages")
          .select("status")
          .where("job_id", "=", jobId)
          .where("channel", "=", channel as "sms")
          .executeTakeFirst(),
      );
      if (message && ["delivered", "read", "failed", "undelivered"].includes(message.status)) return null;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return null;
  };

  /** A wait that sees no event: the receipts all arrive, but before it began. */
  const missTheWait = async () => {
    await sandbox.whenIdle();
    return null;
  };

  /** Runs deliver-message for a job; each wait ends as `wait` says (default: at a final status or the window's end). */
  function deliver(jobId: string, wait?: () => Promise<null>) {
    return new InngestTestEngine({
      function: createDeliverMessage(inngest, {
        database,
        messaging: messaging(),
        statusCallbacks: statusCallbackUrls({ publicUrl, authToken: AUTH_TOKEN }),
      }),
      transformCtx: (ctx) => {
        const mocked = mockCtx(ctx);
        const waitForEvent = async (id: string) =>
          wait ? wait() : waitForFinalStatus(jobId, id.includes("whatsapp") ? "whatsapp" : "sms")();
        return { ...mocked, step: { ...mocked.step, waitForEvent } } as typeof mocked;
      },
    }).execute({ events: [{ name: "message/job.created", id: jobId, data: { jobId, organizationId: ORG } }] });
  }

  /** A call from `caller` through the voice webhook, then both functions; the job and the sends it made. */
  async function afterCall(caller: string, options: { missWaits?: boolean } = {}) {
    const sendsBefore = sandbox.sends.length;
    // No forwarding number: the greeting, silence after the beep, a missed call.
    const placed = await sandbox.placeCall({ from: caller, to: BUSINESS, scenario: "no-answer" });
    expect(placed.errors).toEqual([]);
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
    const jobId = (decided.result as { jobId: string }).jobId;
    const delivered = await deliver(jobId, options.missWaits ? missTheWait : undefined);
    expect(delivered.error).toBeUndefined();
    await sandbox.whenIdle();
    const job = await database.withService((tx) =>
      tx.selectFrom("message_jobs").selectAll().where("id", "=", jobId).executeTakeFirstOrThrow(),
    );
    const sends = sandbox.sends
      .slice(sendsBefore)
      .map((send) => `${send.channel}:${send.accepted ? "accepted" : `refused ${send.errorCode}`}`);
    return { job, sends, result: delivered.result };
  }

  it("delivers on WhatsApp and sends no SMS", async () => {
    const { job, sends } = await afterCall("+15125550147");
    expect(sends).toEqual(["whatsapp:accepted"]);
    expect(job).toMatchObject({ status: "delivered", final_channel: "whatsapp" });
    const messages = await database.withService((tx) =>
      tx.selectFrom("messages").select(["channel", "status"]).where("job_id", "=", job.id).execute(),
    );
    expect(messages).toEqual([{ channel: "whatsapp", status: "read" }]);
  });

  it("goes to SMS at once for a number not on WhatsApp, and remembers it", async () => {
    const { job, sends } = await afterCall("+15125550140");
    expect(sends).toEqual(["whatsapp:refused 63024", "sms:accepted"]);
    expect(job).toMatchObject({ status: "delivered", final_channel: "sms" });
    const contact = await database.withService((tx) =>
      tx.selectFrom("contacts").select("whatsapp_status").where("e164", "=", "+15125550140").executeTakeFirstOrThrow(),
    );
    expect(contact.whatsapp_status).toBe("unavailable");
  });

  it("falls back to SMS when WhatsApp reports no delivery within the window", async () => {
    const { job, sends } = await afterCall("+15125550141");
    expect(sends).toEqual(["whatsapp:accepted", "sms:accepted"]);
    expect(job).toMatchObject({ status: "delivered", final_channel: "sms" });
  });

  it("fails the job with both reasons when WhatsApp fails and SMS is undelivered", async () => {
    const { job, sends } = await afterCall("+15125550142");
    expect(sends).toEqual(["whatsapp:accepted", "sms:accepted"]);
    expect(job.status).toBe("failed");
    expect(job.final_reason).toMatch(/whatsapp: failed \(63016\); sms: undelivered \(30003\)/);
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
    expect((await deliver(job.id)).error).toBeUndefined();
    expect(sandbox.sends.length).toBe(sendsBefore);
    const again = await database.withService((tx) =>
      tx
        .selectFrom("message_jobs")
        .select(["status", "final_channel"])
        .where("id", "=", job.id)
        .executeTakeFirstOrThrow(),
    );
    expect(again).toEqual({ status: "delivered", final_channel: "whatsapp" });
  });

  it("records every status callback and moves the message status only forward", async () => {
    const { job } = await afterCall("+15125550144");
    const events = await database.withService((tx) =>
      tx
        .selectFrom("message_events as e")
        .innerJoin("messages as m", "m.id", "e.message_id")
        .select("e.status")
        .where("m.job_id", "=", job.id)
        .orderBy("e.received_at")
        .execute(),
    );
    expect(events.map((event) => event.status)).toEqual(["sent", "delivered", "read"]);
  });
});
