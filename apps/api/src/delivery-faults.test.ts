// Twilio misbehaving under the after-call workflow, over the local stack (the Twilio sandbox
// over HTTP, the local executor, the real webhooks): refusals (500, 429 with Retry-After) are
// retried and then fall back; sends that get no answer (a hang, a dropped connection) are
// never sent twice; and crashes between Twilio accepting a send and the step recording it,
// retried by the executor, cause no second send. (The thousand crashes of issue 14 are driven
// at the step itself, in inngest's delivery-records.test.ts: through the executor each run
// costs about 0.1 s of CPU here, too much for a thousand in CI.)
import type { Database } from "@callflow/db";
import { testLanes } from "@callflow/db/testing";
import type { SandboxMessage } from "@callflow/devstack";
import { finalJobStatuses } from "@callflow/domain";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkflowTestStack, type WorkflowTestStack } from "./workflow-test-stack.ts";

const ORG = "org_faults";
const MAIN = "+15125550300";
const WINDOW_S = 10;
/** A business of its own for the crash test, so its jobs are counted apart. */
const CRASH_ORG = "org_faults_crashes";
const CRASH_NUMBER = "+15125550301";
/** Runs, each crashed once, through the executor. */
const CRASHES = 100;
/** The adapter's request timeout here: a hang becomes an unknown outcome quickly. */
const TWILIO_TIMEOUT_MS = 2000;
const HX = (c: string) => `HX${c.repeat(32)}`;

async function business(database: Database, org: { id: string; number: string; windowSeconds: number }) {
  await database.withService(async (tx) => {
    await tx
      .insertInto("organizations")
      .values({
        id: org.id,
        name: "Faulty Plumbing",
        timezone: "UTC",
        quiet_hours: null,
        cooldown_seconds: 0,
        fallback_window_seconds: org.windowSeconds,
        trigger_outcomes: ["missed", "voicemail"],
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
          whatsapp_content_sid: HX("e"),
          whatsapp_variables: JSON.stringify({ "1": "{{business_name}}" }),
          sms_body: "{{business_name}} missed your call.",
        },
        { organization_id: org.id, name: "Voicemail", trigger: "voicemail", sms_body: "{{business_name}} got it." },
      ])
      .execute();
  });
}

/** What the sandbox did with a send: accepted, refused with a code, or lost (no answer, not accepted). */
const fate = (send: SandboxMessage) =>
  `${send.channel}:${send.accepted ? "accepted" : send.errorCode === null ? "lost" : `refused ${send.errorCode}`}`;

describe.each(testLanes())("Twilio faults under the after-call workflow on %s", (lane) => {
  let stack: WorkflowTestStack;
  let next = 100;
  const caller = (lastDigit: number) => `+1737556${String(next++).padStart(3, "0")}${lastDigit}`;
  const sendsTo = (to: string) => stack.sandbox.sends.filter((send) => send.to === to);

  beforeAll(async () => {
    stack = await startWorkflowTestStack(lane, {
      // Paces wide enough for a thousand sends from one number in a few seconds.
      senderRates: { whatsapp: 1000, long_code: 1000 },
      twilioTimeoutMs: TWILIO_TIMEOUT_MS,
      seed: async (database) => {
        await business(database, { id: ORG, number: MAIN, windowSeconds: WINDOW_S });
      },
    });
  });
  afterAll(() => stack?.stop());

  it("retries a 500 soon (Inngest's backoff) and delivers on WhatsApp with one accepted send", async () => {
    const from = caller(7);
    stack.sandbox.refuseNextSend({ httpStatus: 500, code: 20500, message: "Internal server error" });
    const job = await stack.finalJob(await stack.placeCall(from, MAIN));
    expect(job).toMatchObject({ status: "delivered", final_channel: "whatsapp" });
    const sends = sendsTo(from);
    expect(sends.map(fate)).toEqual(["whatsapp:refused 20500", "whatsapp:accepted"]);
    // The test executor runs Inngest's schedule in milliseconds: no Retry-After, no long wait.
    expect(gapMs(sends)).toBeLessThan(1500);
  });

  it("waits out a 429's Retry-After before sending again, then delivers on WhatsApp", async () => {
    const from = caller(7);
    stack.sandbox.refuseNextSend({ httpStatus: 429, code: 20429, message: "Too Many Requests", retryAfterSeconds: 2 });
    const job = await stack.finalJob(await stack.placeCall(from, MAIN));
    expect(job).toMatchObject({ status: "delivered", final_channel: "whatsapp" });
    const sends = sendsTo(from);
    expect(sends.map(fate)).toEqual(["whatsapp:refused 20429", "whatsapp:accepted"]);
    expect(gapMs(sends)).toBeGreaterThanOrEqual(2000);
  });

  it("falls back to SMS when every WhatsApp attempt gets a 429, each retry after its Retry-After", async () => {
    const from = caller(7);
    for (let i = 0; i < 5; i++) {
      stack.sandbox.refuseNextSend({
        httpStatus: 429,
        code: 20429,
        message: "Too Many Requests",
        retryAfterSeconds: 1,
      });
    }
    const job = await stack.finalJob(await stack.placeCall(from, MAIN), 60_000);
    expect(job).toMatchObject({ status: "delivered", final_channel: "sms" });
    const sends = sendsTo(from);
    expect(sends.map(fate)).toEqual([...Array(5).fill("whatsapp:refused 20429"), "sms:accepted"]);
    for (let i = 1; i < 5; i++) expect(gapMs(sends.slice(i - 1, i + 1))).toBeGreaterThanOrEqual(1000);
    const [whatsapp] = await stack.messagesOf(job.id);
    expect(whatsapp).toMatchObject({ channel: "whatsapp", status: "failed" });
    expect(whatsapp?.error_message).toMatch(
      /^not sent, retries exhausted: WhatsApp send failed, will retry: .*rate-limiting/,
    );
  });

  it.each([
    ["hangs past the timeout", { kind: "hang", accepted: true } as const],
    ["drops the connection", { kind: "drop" } as const],
  ])("does not send again when Twilio accepts and then %s: its callbacks settle the send", async (_, fault) => {
    const from = caller(7);
    stack.sandbox.faultNextSend(fault);
    const job = await stack.finalJob(await stack.placeCall(from, MAIN));
    expect(job).toMatchObject({ status: "delivered", final_channel: "whatsapp" });
    const sends = sendsTo(from);
    expect(sends.map(fate)).toEqual(["whatsapp:accepted"]);
    const stored = await providerSidsOf(stack.database, job.id);
    expect(stored).toEqual([{ channel: "whatsapp", provider_sid: sends[0]?.sid, status: expect.any(String) }]);
  });

  it("falls back to SMS, without sending WhatsApp again, when a WhatsApp send got no answer and Twilio never took it", async () => {
    const from = caller(7);
    stack.sandbox.faultNextSend({ kind: "hang", accepted: false });
    const job = await stack.finalJob(await stack.placeCall(from, MAIN));
    expect(job).toMatchObject({ status: "delivered", final_channel: "sms" });
    expect(sendsTo(from).map(fate)).toEqual(["whatsapp:lost", "sms:accepted"]);
    const [whatsapp] = await stack.messagesOf(job.id);
    expect(whatsapp).toMatchObject({ channel: "whatsapp", status: "pending" });
    expect(whatsapp?.error_message).toMatch(/^outcome unknown: Twilio at http:\S+ did not answer \(/);
  });

  it("fails an SMS-only job saying the outcome is unknown when its one send got no answer and no callback came", async () => {
    const from = caller(7);
    stack.sandbox.faultNextSend({ kind: "hang", accepted: false });
    const job = await stack.finalJob(await stack.placeCall(from, MAIN, "voicemail"));
    expect(job.status).toBe("failed");
    expect(job.final_reason).toMatch(
      new RegExp(
        `^sms: outcome unknown: Twilio at \\S+ did not answer .*; no status callback came within ${WINDOW_S} s$`,
      ),
    );
    expect(sendsTo(from).map(fate)).toEqual(["sms:lost"]);
  });
});

describe.each(testLanes())(
  "injected crashes between Twilio accepting a send and the step recording it on %s",
  (lane) => {
    let stack: WorkflowTestStack;

    beforeAll(async () => {
      stack = await startWorkflowTestStack(lane, {
        senderRates: { long_code: 1000 },
        // Receipts at once, so a run retried after its crash finds the outcome stored.
        sandboxTiming: { sentAfterMs: 1, deliveredAfterMs: 2 },
        seed: (database) => business(database, { id: CRASH_ORG, number: CRASH_NUMBER, windowSeconds: 10 }),
      });
    });
    afterAll(() => stack?.stop());

    it(`sends once per job through ${CRASHES} crashes, one a run`, async () => {
      const jobs = await preparedSmsJobs(stack.database, CRASHES);
      const recipients = new Set(jobs.map((job) => job.to));
      // The crash: the provider has answered, the step has not recorded it; once per job.
      const crashed = new Set<string>();
      stack.onSend(async (_channel, to, result) => {
        if (!recipients.has(to) || !result.ok || crashed.has(to)) return;
        crashed.add(to);
        throw new Error("injected crash after Twilio accepted the send");
      });
      try {
        const sends = jobs.map((job) => ({
          jobId: job.id,
          organizationId: CRASH_ORG,
          channel: "sms" as const,
          from: CRASH_NUMBER,
        }));
        await stack.requestDeliveries(sends, "crash");
        const statuses = await untilAllFinal(stack.database, CRASH_ORG, CRASHES, 150_000);
        const perRecipient = new Map<string, number>();
        for (const send of stack.sandbox.sends) {
          if (recipients.has(send.to)) perRecipient.set(send.to, (perRecipient.get(send.to) ?? 0) + 1);
        }
        const duplicates = [...perRecipient.values()].reduce((sum, count) => sum + count - 1, 0);
        console.log(`executor-driven crashes: ${crashed.size}, duplicate sends: ${duplicates} (${lane})`);
        expect(crashed.size).toBe(CRASHES);
        expect(duplicates).toBe(0);
        expect(perRecipient.size).toBe(CRASHES);
        expect(statuses).toEqual({ delivered: CRASHES });
      } finally {
        stack.onSend(null);
      }
    }, 200_000);
  },
);

function gapMs(sends: SandboxMessage[]) {
  const [first, second] = sends;
  if (!first || !second) throw new Error(`expected two sends, got ${sends.length}`);
  return second.createdAt.getTime() - first.createdAt.getTime();
}

const providerSidsOf = (database: Database, jobId: string) =>
  database.withService((tx) =>
    tx.selectFrom("messages").select(["channel", "provider_sid", "status"]).where("job_id", "=", jobId).execute(),
  );

/** SMS-only jobs as call-completed writes them, one recipient each (ending in 5: delivered). */
async function preparedSmsJobs(database: Database, count: number) {
  return database.withService(async (tx) => {
    const recipients = Array.from({ length: count }, (_, i) => `+1738${String(i).padStart(6, "0")}5`);
    const calls = await tx
      .insertInto("call_logs")
      .values(
        recipients.map((from, i) => ({
          organization_id: CRASH_ORG,
          call_sid: `CA${String(i).padStart(32, "c")}`,
          from_number: from,
          to_number: CRASH_NUMBER,
          status: "no-answer" as const,
          outcome: "missed" as const,
        })),
      )
      .returning(["id", "from_number"])
      .execute();
    return tx
      .insertInto("message_jobs")
      .values(
        calls.map((call) => ({
          organization_id: CRASH_ORG,
          call_log_id: call.id,
          to_number: call.from_number,
          decision: "send" as const,
          reason: "missed call",
          channels: ["sms" as const],
          sms_body: "Faulty Plumbing missed your call.",
          fallback_window_seconds: 120,
        })),
      )
      .returning(["id", "to_number as to"])
      .execute();
  });
}

/** Waits until the business has `count` jobs, all final; their statuses, counted. */
async function untilAllFinal(database: Database, org: string, count: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await database.withService((tx) =>
      tx
        .selectFrom("message_jobs")
        .select(["status", (eb) => eb.fn.countAll<string>().as("jobs")])
        .where("organization_id", "=", org)
        .groupBy("status")
        .execute(),
    );
    const statuses = Object.fromEntries(rows.map((row) => [row.status, Number(row.jobs)]));
    const final = rows.filter((row) => finalJobStatuses.includes(row.status)).reduce((n, r) => n + Number(r.jobs), 0);
    if (final === count) return statuses;
    if (Date.now() > deadline) throw new Error(`after ${timeoutMs} ms: ${JSON.stringify(statuses)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
