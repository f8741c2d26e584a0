// The send step's record against a database and the Twilio sandbox over HTTP, as the step
// runs it and as Inngest retries it: a refusal releases the claim (a 429 asks for its
// Retry-After, capped), an unanswered send keeps it (Twilio may have taken the message), and
// a crash between Twilio accepting and the step recording it never leads to a second send.
import type { Database } from "@callflow/db";
import { migratedDatabase, type ScratchDatabase, testLanes } from "@callflow/db/testing";
import { startTwilioSandbox, type TwilioSandbox } from "@callflow/devstack";
import { createTwilioMessaging, type MessagingProvider, statusCallbackUrls } from "@callflow/providers";
import { RetryAfterError } from "inngest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DeliveryRecordsDeps,
  loadJob,
  MAX_RETRY_AFTER_SECONDS,
  OUTCOME_UNKNOWN,
  reasonsOf,
  sendOnce,
} from "./delivery-records.ts";

const ORG = "org_delivery_records";
const NUMBER = "+15125550400";
const ACCOUNT_SID = `AC${"7".repeat(32)}`;
const AUTH_TOKEN = "delivery-records-token";
const CRASHES = 1000;

describe.each(testLanes())("the send step's record on %s", (lane) => {
  let scratch: ScratchDatabase;
  let database: Database;
  let sandbox: TwilioSandbox;
  let deps: DeliveryRecordsDeps;
  let next = 0;
  /** A recipient of its own per test (ending in 5: the sandbox delivers). */
  const recipient = () => `+1739${String(next++).padStart(6, "0")}5`;
  const sendsTo = (to: string) => sandbox.sends.filter((send) => send.to === to);

  beforeAll(async () => {
    scratch = await migratedDatabase(lane);
    database = scratch.database;
    await database.withService(async (tx) => {
      await tx.insertInto("organizations").values({ id: ORG, name: "Records Plumbing", timezone: "UTC" }).execute();
      await tx.insertInto("phone_numbers").values({ organization_id: ORG, e164: NUMBER }).execute();
    });
    // No callbacks while a test runs: what the step recorded is all there is.
    sandbox = await startTwilioSandbox({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      timing: { sentAfterMs: 600_000, deliveredAfterMs: 600_000 },
    });
    deps = {
      database,
      messaging: createTwilioMessaging({
        accountSid: ACCOUNT_SID,
        authToken: AUTH_TOKEN,
        baseUrl: sandbox.url,
        // Long enough for a loaded machine, short enough for the hang below.
        timeoutMs: 2000,
      }),
      statusCallbacks: statusCallbackUrls({ publicUrl: "http://127.0.0.1:9", authToken: AUTH_TOKEN }),
    };
  });
  afterAll(async () => {
    await sandbox?.stop();
    await scratch?.dispose();
  });

  it("releases the claim on a 429 and asks Inngest to retry after Twilio's Retry-After, capped", async () => {
    const [job] = await smsJobs(database, [recipient()]);
    if (!job) throw new Error("no job");
    const prepared = await loadJob(deps, job.id);
    sandbox.refuseNextSend({ httpStatus: 429, code: 20429, message: "Too Many Requests", retryAfterSeconds: 7 });
    const refused = sendOnce(deps, prepared, "sms");
    await expect(refused).rejects.toBeInstanceOf(RetryAfterError);
    await expect(refused).rejects.toMatchObject({ retryAfter: "7", message: expect.stringContaining("rate-limiting") });
    expect(await attemptsOf(database, job.id)).toEqual([]);

    sandbox.refuseNextSend({ httpStatus: 429, code: 20429, message: "Too Many Requests", retryAfterSeconds: 3600 });
    await expect(sendOnce(deps, prepared, "sms")).rejects.toMatchObject({
      name: "RetryAfterError",
      retryAfter: String(MAX_RETRY_AFTER_SECONDS),
    });
    // A 500 carries no Retry-After: Inngest's own backoff.
    sandbox.refuseNextSend({ httpStatus: 500, code: 20500, message: "Internal server error" });
    const plain = await sendOnce(deps, prepared, "sms").catch((error: unknown) => error);
    expect(plain).toBeInstanceOf(Error);
    expect(plain).not.toBeInstanceOf(RetryAfterError);

    expect(await sendOnce(deps, prepared, "sms")).toMatchObject({ outcome: "accepted" });
    expect(sendsTo(prepared.to).map((send) => send.accepted)).toEqual([false, false, false, true]);
  });

  it("keeps the claim of a send that got no answer, so a retry does not send again, and says why", async () => {
    const [job] = await smsJobs(database, [recipient()]);
    if (!job) throw new Error("no job");
    const prepared = await loadJob(deps, job.id);
    sandbox.faultNextSend({ kind: "hang", accepted: true });
    const first = await sendOnce(deps, prepared, "sms");
    expect(first).toMatchObject({ outcome: "accepted" });
    expect(await sendOnce(deps, prepared, "sms")).toEqual(first);
    expect(sendsTo(prepared.to).map((send) => send.accepted)).toEqual([true]);
    const [attempt] = await attemptsOf(database, job.id);
    expect(attempt).toMatchObject({ status: "pending", provider_sid: null });
    expect(attempt?.error_message).toMatch(new RegExp(`^${OUTCOME_UNKNOWN}: Twilio at \\S+ did not answer`));
    expect(await reasonsOf(deps, prepared)).toMatch(/; no status callback came within 300 s$/);
  });

  it(`sends once per job through ${CRASHES} crashes between Twilio accepting a send and the step recording it`, async () => {
    const jobs = await smsJobs(
      database,
      Array.from({ length: CRASHES }, () => recipient()),
    );
    // The crash: the real adapter has Twilio's acceptance, the step has not recorded it. Its
    // default timeout, so that no send times out on a loaded machine.
    const messaging = createTwilioMessaging({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, baseUrl: sandbox.url });
    const crashing: MessagingProvider = {
      ...messaging,
      async sendSms(input) {
        const result = await messaging.sendSms(input);
        if (result.ok) throw new Error("injected crash after Twilio accepted the send");
        return result;
      },
    };
    let crashes = 0;
    const step = async (jobId: string) => {
      const job = await loadJob(deps, jobId);
      await sendOnce({ ...deps, messaging: crashing }, job, "sms").catch((error: Error) => {
        if (!error.message.startsWith("injected crash")) throw error;
        crashes++;
      });
      // Inngest runs the step again: the claim is there, so it must not call Twilio.
      return sendOnce({ ...deps, messaging: crashing }, job, "sms");
    };
    for (let i = 0; i < jobs.length; i += 20) {
      const retried = await Promise.all(jobs.slice(i, i + 20).map((job) => step(job.id)));
      for (const attempt of retried) expect(attempt.outcome).toBe("accepted");
    }
    const perRecipient = new Map<string, number>();
    const recipients = new Set(jobs.map((job) => job.to));
    for (const send of sandbox.sends) {
      if (recipients.has(send.to)) perRecipient.set(send.to, (perRecipient.get(send.to) ?? 0) + 1);
    }
    const duplicates = [...perRecipient.values()].reduce((sum, count) => sum + count - 1, 0);
    console.log(`figure injected_crash_duplicate_sends ${duplicates} sends (${crashes} crashes, ${lane})`);
    expect(crashes).toBe(CRASHES);
    expect(perRecipient.size).toBe(CRASHES);
    expect(duplicates).toBe(0);
    const attempts = await database.withService((tx) =>
      tx
        .selectFrom("messages")
        .select((eb) => eb.fn.countAll<string>().as("rows"))
        .where("organization_id", "=", ORG)
        .where(
          "job_id",
          "in",
          jobs.map((job) => job.id),
        )
        .executeTakeFirstOrThrow(),
    );
    expect(Number(attempts.rows)).toBe(CRASHES);
  }, 120_000);
});

const attemptsOf = (database: Database, jobId: string) =>
  database.withService((tx) =>
    tx.selectFrom("messages").select(["status", "provider_sid", "error_message"]).where("job_id", "=", jobId).execute(),
  );

/** SMS-only jobs as call-completed writes them, one per recipient. */
async function smsJobs(database: Database, recipients: string[]) {
  return database.withService(async (tx) => {
    const calls = await tx
      .insertInto("call_logs")
      .values(
        recipients.map((from) => ({
          organization_id: ORG,
          call_sid: `CA${from.slice(1).padStart(32, "a")}`,
          from_number: from,
          to_number: NUMBER,
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
          organization_id: ORG,
          call_log_id: call.id,
          to_number: call.from_number,
          decision: "send" as const,
          reason: "missed call",
          channels: ["sms" as const],
          sms_body: "Records Plumbing missed your call.",
        })),
      )
      .returning(["id", "to_number as to"])
      .execute();
  });
}
