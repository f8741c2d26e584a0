// Twilio's callbacks as Twilio posts them (the fields it sends), signed with the real SDK for
// the URL the product is reached at: the final voice status callback (what voice-webhook and
// after-call send to POST /webhooks/twilio/voice) and a message's status callback.
import { TWILIO_SANDBOX_ACCOUNT_SID, TWILIO_SANDBOX_AUTH_TOKEN } from "@callflow/devstack";
import twilio from "twilio";

export const VOICE_WEBHOOK_PATH = "/webhooks/twilio/voice";
export const MESSAGE_STATUS_WEBHOOK_PATH = "/webhooks/twilio/messages/status";

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
  return signed(`${publicUrl}${VOICE_WEBHOOK_PATH}`, params);
}

/** A WhatsApp message's status callback (found by its sid: no messageId in the URL). */
export function signedMessageStatusCallback(
  publicUrl: string,
  message: { sid: string; status: string; from: string; to: string },
): SignedCallback {
  return signed(`${publicUrl}${MESSAGE_STATUS_WEBHOOK_PATH}`, {
    AccountSid: TWILIO_SANDBOX_ACCOUNT_SID,
    ApiVersion: "2010-04-01",
    MessageSid: message.sid,
    SmsSid: message.sid,
    MessageStatus: message.status,
    SmsStatus: message.status,
    ChannelPrefix: "whatsapp",
    From: `whatsapp:${message.from}`,
    To: `whatsapp:${message.to}`,
  });
}

function signed(url: string, params: Record<string, string>): SignedCallback {
  const body = new URLSearchParams(params).toString();
  return {
    body,
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "content-length": String(Buffer.byteLength(body)),
      "x-twilio-signature": twilio.getExpectedTwilioSignature(TWILIO_SANDBOX_AUTH_TOKEN, url, params),
      "user-agent": "TwilioProxy/1.1",
    },
  };
}

/** CallSid: CA + 32 hex, unique per run tag and index. */
export const callSidOf = (runTag: string, index: number) => `CA${runTag}${index.toString(16).padStart(24, "0")}`;
/** A run tag: 8 hex digits from the clock. */
export const newRunTag = () => Date.now().toString(16).slice(-8).padStart(8, "0");
