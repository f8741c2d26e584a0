// A missed call through a running CallFlow, for tests of whole-product faults: the signed
// voice status callback Twilio posts (and posts again when it retries), and what became of it.
import { TWILIO_SANDBOX_ACCOUNT_SID, TWILIO_SANDBOX_AUTH_TOKEN } from "@callflow/devstack";
import twilio from "twilio";
import type { RunningCallflow } from "./start-callflow.ts";

/** The demo business whose main line the calls ring, and a caller number ending in `lastDigit` (the sandbox's scenario). */
export const DEMO_ORG = "org_demo_northside_plumbing";
export const randomCaller = (lastDigit = 7) =>
  `+1737555${String(Math.floor(Math.random() * 1000)).padStart(3, "0")}${lastDigit}`;

export function missedCallParams(from: string) {
  return {
    AccountSid: TWILIO_SANDBOX_ACCOUNT_SID,
    CallSid: `CA${crypto.randomUUID().replaceAll("-", "")}`,
    CallStatus: "no-answer",
    CallDuration: "0",
    From: from,
    To: "+15125550100",
  };
}

export function postVoiceCallback(callflow: RunningCallflow, params: Record<string, string>) {
  return fetch(`${callflow.apiUrl}/webhooks/twilio/voice`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": twilio.getExpectedTwilioSignature(
        TWILIO_SANDBOX_AUTH_TOKEN,
        `${callflow.publicUrl}/webhooks/twilio/voice`,
        params,
      ),
    },
    body: new URLSearchParams(params),
  });
}

/** The call's job once delivered (or as it stands after 30 s), and the channels its messages went on. */
export async function deliveryOf(callflow: RunningCallflow, callSid: string) {
  let job: { status: string; final_channel: string | null } | undefined;
  for (let i = 0; i < 300 && job?.status !== "delivered"; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    job = await callflow.database.withService((tx) =>
      tx
        .selectFrom("message_jobs as j")
        .innerJoin("call_logs as c", "c.id", "j.call_log_id")
        .select(["j.status", "j.final_channel"])
        .where("c.call_sid", "=", callSid)
        .executeTakeFirst(),
    );
  }
  const messages = await callflow.database.withService((tx) =>
    tx
      .selectFrom("messages as m")
      .innerJoin("message_jobs as j", "j.id", "m.job_id")
      .innerJoin("call_logs as c", "c.id", "j.call_log_id")
      .select("m.channel")
      .where("c.call_sid", "=", callSid)
      .execute(),
  );
  return { job, channels: messages.map((message) => message.channel) };
}
