// The after-call workflow's parts for tests, wired as the composition root wires local
// mode: the API over HTTP (webhooks, /api/inngest signed), the outbox relay, the local
// executor driving the functions in Inngest Cloud's protocol, the Twilio sandbox answering
// sends and posting signed callbacks. What a test controls: the clock the functions read,
// senders' rates, and a hook on each send as the provider answers it.
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Database } from "@callflow/db";
import { type LaneName, migratedDatabase, type ScratchDatabase } from "@callflow/db/testing";
import {
  type DevExecutor,
  type ExecutorLogLine,
  type SandboxTiming,
  startDevExecutor,
  startTwilioSandbox,
  type TwilioSandbox,
} from "@callflow/devstack";
import { isFinalJobStatus, type SenderRates } from "@callflow/domain";
import {
  createFunctions,
  createInngestClient,
  type DeliverySend,
  deliveryRequestOf,
  type OutboxRelay,
  type ReconcileSettings,
  reconciliationRequested,
  sendWith,
  startOutboxRelay,
} from "@callflow/inngest";
import {
  createTwilioMessaging,
  type MessagingProvider,
  type SendResult,
  statusCallbackUrls,
} from "@callflow/providers";
import { serve } from "@hono/node-server";
import twilio from "twilio";
import { createApp } from "./http/app.ts";
import { createLog } from "./log.ts";

const ACCOUNT_SID = `AC${"5".repeat(32)}`;
const AUTH_TOKEN = "workflow-stack-auth-token";
/** Inngest's retry schedule in milliseconds (15 ms, 30 ms, …): retries run out in a moment. */
const FAST_BACKOFF = 0.001;

export interface WorkflowTestStack {
  database: Database;
  sandbox: TwilioSandbox;
  executor: DevExecutor;
  publicUrl: string;
  /** Moves the functions' clock (decisions, marks) this far ahead of the real one. */
  advanceClock(ms: number): void;
  /** Runs after the provider answered a send and before the send step records it. */
  onSend(hook: ((channel: "whatsapp" | "sms", to: string, result: SendResult) => Promise<void>) | null): void;
  /** A call ending as Twilio reports it, through the signed voice webhook; its CallSid. */
  placeCall(from: string, to: string, outcome?: "missed" | "answered" | "voicemail"): Promise<string>;
  /** The caller texts the business, through the signed inbound webhook. */
  text(from: string, to: string, body: string): Promise<number>;
  /** The call's job once final (or throws with the executor's last lines). */
  finalJob(callSid: string, timeoutMs?: number): Promise<FinalJob>;
  finalJobById(jobId: string, timeoutMs?: number): Promise<FinalJob>;
  /** Asks for a channel's delivery again, as a repeated request would (an event id of its own). */
  requestDelivery(send: DeliverySend, repeat: string): Promise<void>;
  /** A reconciliation run now, as an operator asks for one; resolves once it has ended, with its output. */
  reconcile(): Promise<unknown>;
  /** Asks for many deliveries in one send to the executor (event ids `<job>:<channel>:<repeat>`). */
  requestDeliveries(sends: DeliverySend[], repeat: string): Promise<void>;
  /** The job's messages in the order they were created. */
  messagesOf(jobId: string): Promise<
    Array<{
      channel: string;
      status: string;
      error_code: number | null;
      error_message: string | null;
      sent_at: Date | null;
    }>
  >;
  stop(): Promise<void>;
}

export interface FinalJob {
  id: string;
  status: string;
  reason: string;
  final_channel: string | null;
  final_reason: string | null;
  channels: string[];
  completed_at: Date | null;
}

export interface WorkflowTestOptions {
  /** Seeds the business (org, numbers, templates) before the functions sync. */
  seed(database: Database): Promise<void>;
  senderRates?: Partial<SenderRates>;
  reconcile?: Partial<ReconcileSettings>;
  /** The Twilio adapter's request timeout (its default otherwise): for sends that get no answer. */
  twilioTimeoutMs?: number;
  /** When the sandbox moves an accepted message on (default: sent after 150 ms, delivered after 400 ms). */
  sandboxTiming?: Partial<SandboxTiming>;
}

export async function startWorkflowTestStack(lane: LaneName, options: WorkflowTestOptions): Promise<WorkflowTestStack> {
  const scratch: ScratchDatabase = await migratedDatabase(lane);
  const { database } = scratch;
  await options.seed(database);
  const sandbox = await startTwilioSandbox({
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    timing: options.sandboxTiming ?? { sentAfterMs: 150, deliveredAfterMs: 400 },
  });
  const keys = {
    signingKey: `signkey-test-${randomBytes(32).toString("hex")}`,
    eventKey: randomBytes(8).toString("hex"),
  };
  const executorLines: ExecutorLogLine[] = [];
  const executor = await startDevExecutor({
    database,
    ...keys,
    backoffScale: FAST_BACKOFF,
    log: (line) => executorLines.push(line),
  });
  const quiet = { info() {}, warn() {}, error() {}, debug() {} };
  const inngest = createInngestClient({ ...keys, baseUrl: executor.url, isDev: false, logger: quiet });

  let offsetMs = 0;
  let sendHook: Parameters<WorkflowTestStack["onSend"]>[0] = null;
  const twilioMessaging = createTwilioMessaging({
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    baseUrl: sandbox.url,
    ...(options.twilioTimeoutMs ? { timeoutMs: options.twilioTimeoutMs } : {}),
  });
  // The real adapter; the hook runs between Twilio's answer and the step recording it.
  const messaging: MessagingProvider = {
    ...twilioMessaging,
    async sendWhatsApp(input) {
      const result = await twilioMessaging.sendWhatsApp(input);
      await sendHook?.("whatsapp", input.to, result);
      return result;
    },
    async sendSms(input) {
      const result = await twilioMessaging.sendSms(input);
      await sendHook?.("sms", input.to, result);
      return result;
    },
  };

  let app: ReturnType<typeof createApp> | undefined;
  const server = serve({
    fetch: (request) => (app as NonNullable<typeof app>).fetch(request),
    port: 0,
    hostname: "127.0.0.1",
  });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let relay: OutboxRelay | null = null;
  const functions = createFunctions(inngest, {
    database,
    messaging,
    statusCallbacks: statusCallbackUrls({ publicUrl, authToken: AUTH_TOKEN }),
    now: () => new Date(Date.now() + offsetMs),
    ...(options.senderRates ? { senderRates: options.senderRates } : {}),
    ...(options.reconcile ? { reconcile: options.reconcile } : {}),
    outbox: { wake: () => relay?.wake() },
  });
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
    outbox: { wake: () => relay?.wake() },
    inngest: { client: inngest, functions, serveOrigin: publicUrl, signed: true },
  });
  const synced = await fetch(`${publicUrl}/api/inngest`, { method: "PUT" });
  if (!synced.ok) throw new Error(`the functions did not sync: ${synced.status} ${await synced.text()}`);
  relay = startOutboxRelay({ database, send: sendWith(inngest) });

  const postSigned = (path: string, params: Record<string, string>) =>
    fetch(`${publicUrl}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${publicUrl}${path}`, params),
      },
      body: new URLSearchParams(params),
    });

  // A number whose calls do not come through CallFlow's Voice URL: its final status settles the outcome.
  const shapes: Record<"missed" | "answered" | "voicemail", Record<string, string>> = {
    missed: { CallStatus: "no-answer", CallDuration: "0" },
    answered: { CallStatus: "completed", CallDuration: "95", AnsweredBy: "human" },
    voicemail: { CallStatus: "completed", CallDuration: "38", AnsweredBy: "machine_end_beep" },
  };

  async function untilFinal(column: "c.call_sid" | "j.id", value: string, timeoutMs = 30_000): Promise<FinalJob> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await database.withService((tx) =>
        tx
          .selectFrom("message_jobs as j")
          .innerJoin("call_logs as c", "c.id", "j.call_log_id")
          .select(["j.id", "j.status", "j.reason", "j.final_channel", "j.final_reason", "j.channels", "j.completed_at"])
          .where(column, "=", value)
          .executeTakeFirst(),
      );
      if (job && isFinalJobStatus(job.status)) return job;
      if (Date.now() > deadline) {
        const lines = executorLines.slice(-15).map((line) => JSON.stringify(line));
        throw new Error(`job of ${value}: ${job?.status ?? "not written"} after ${timeoutMs} ms\n${lines.join("\n")}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  return {
    database,
    sandbox,
    executor,
    publicUrl,
    advanceClock: (ms) => {
      offsetMs += ms;
    },
    onSend: (hook) => {
      sendHook = hook;
    },
    async placeCall(from, to, outcome = "missed") {
      const callSid = `CA${randomBytes(16).toString("hex")}`;
      const params = {
        AccountSid: ACCOUNT_SID,
        CallSid: callSid,
        From: from,
        To: to,
        Direction: "inbound",
        ...shapes[outcome],
      };
      const response = await postSigned("/webhooks/twilio/voice", params);
      if (response.status !== 200)
        throw new Error(`the voice webhook answered ${response.status}: ${await response.text()}`);
      return callSid;
    },
    async text(from, to, body) {
      const sid = `SM${randomBytes(16).toString("hex")}`;
      const response = await postSigned("/webhooks/twilio/messages/inbound", {
        AccountSid: ACCOUNT_SID,
        MessageSid: sid,
        SmsMessageSid: sid,
        From: from,
        To: to,
        Body: body,
        NumMedia: "0",
      });
      return response.status;
    },
    finalJob: (callSid, timeoutMs) => untilFinal("c.call_sid", callSid, timeoutMs),
    finalJobById: (jobId, timeoutMs) => untilFinal("j.id", jobId, timeoutMs),
    async requestDelivery(send, repeat) {
      const request = deliveryRequestOf(send, options.senderRates);
      await inngest.send({ ...request, id: `${request.id}:${repeat}` });
    },
    async reconcile() {
      const id = `reconcile-${randomBytes(8).toString("hex")}`;
      await inngest.send(reconciliationRequested.create({ requestedBy: "test" }, { id }));
      const deadline = Date.now() + 30_000;
      for (;;) {
        const run = (await executor.runs()).find((summary) => summary.event.id === id);
        if (run?.status === "completed") return run.output;
        if (run?.status === "failed") throw new Error(`reconciliation failed: ${JSON.stringify(run.error)}`);
        if (Date.now() > deadline) throw new Error(`reconciliation did not end: ${run?.status ?? "no run"}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async requestDeliveries(sends, repeat) {
      const requests = sends.map((send) => deliveryRequestOf(send, options.senderRates));
      await inngest.send(requests.map((request) => ({ ...request, id: `${request.id}:${repeat}` })));
    },
    messagesOf: (jobId) =>
      database.withService((tx) =>
        tx
          .selectFrom("messages")
          .select(["channel", "status", "error_code", "error_message", "sent_at"])
          .where("job_id", "=", jobId)
          .orderBy("created_at")
          .execute(),
      ),
    async stop() {
      await relay?.stop();
      await executor.stop();
      await sandbox.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await scratch.dispose();
    },
  };
}
