// Twilio's final voice status callback as Twilio posts it (the fields it sends), signed
// with the real SDK for the URL the product is reached at: what voice-webhook and
// after-call send to POST /webhooks/twilio/voice.
import { TWILIO_SANDBOX_ACCOUNT_SID, TWILIO_SANDBOX_AUTH_TOKEN } from "@callflow/devstack";
import twilio from "twilio";

export const VOICE_WEBHOOK_PATH = "/webhooks/twilio/voice";

export interface SignedCallback {
  body: string;
  headers: Record<string, string>;
}

/** A call that ended `no-answer` (missed) or `completed` (answered, with a duration). */
export function signedVoiceCallback(
  publicUrl: string,
  call: { callSid: string; from: string; to: string; answered?: boolean },
): SignedCallback {
  const duration = call.answered ? "42" : "0";
  const params: Record<string, string> = {
    AccountSid: TWILIO_SANDBOX_ACCOUNT_SID,
    ApiVersion: "2010-04-01",
    CallSid: call.callSid,
    CallStatus: call.answered ? "completed" : "no-answer",
    CallDuration: duration,
    Duration: duration,
    CallbackSource: "call-progress-events",
    SequenceNumber: "0",
    Timestamp: new Date().toUTCString().replace("GMT", "+0000"),
    Direction: "inbound",
    From: call.from,
    Caller: call.from,
    FromCity: "AUSTIN",
    FromState: "TX",
    FromZip: "78701",
    FromCountry: "US",
    To: call.to,
    Called: call.to,
    ToCity: "AUSTIN",
    ToState: "TX",
    ToCountry: "US",
  };
  const body = new URLSearchParams(params).toString();
  const signature = twilio.getExpectedTwilioSignature(
    TWILIO_SANDBOX_AUTH_TOKEN,
    `${publicUrl}${VOICE_WEBHOOK_PATH}`,
    params,
  );
  return {
    body,
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "content-length": String(Buffer.byteLength(body)),
      "x-twilio-signature": signature,
      "user-agent": "TwilioProxy/1.1",
    },
  };
}

/** CallSid: CA + 32 hex, unique per run tag and index. */
export const callSidOf = (runTag: string, index: number) => `CA${runTag}${index.toString(16).padStart(24, "0")}`;
/** A run tag: 8 hex digits from the clock. */
export const newRunTag = () => Date.now().toString(16).slice(-8).padStart(8, "0");
