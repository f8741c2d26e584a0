// The TwiML of the voice flow, written by the twilio SDK's VoiceResponse (it escapes text and
// URLs): forward to the business's phone, the voicemail greeting and recording, or a goodbye.
import { unavailableMessage, type VoiceFlow, voicemailGreeting } from "@callflow/domain";
import type { VoiceWebhookUrls } from "@callflow/providers";
import twilio from "twilio";
import type { VoiceSettings } from "./twilio-voice-flow.ts";

/** A voicemail is at most this long; callers who keep talking are cut off, as on any answering machine. */
export const VOICEMAIL_MAX_SECONDS = 120;
/** Seconds of silence after which a recording ends (Twilio's default). */
const RECORDING_SILENCE_SECONDS = 5;

/** What a call gets first, from the business's settings. */
export function voiceFlowOf(settings: VoiceSettings): VoiceFlow {
  if (settings.forwardTo) return "forward";
  return settings.voicemailEnabled ? "voicemail" : "hangup";
}

/** The incoming call's TwiML for a flow. */
export function incomingTwiml(flow: VoiceFlow, settings: VoiceSettings, urls: VoiceWebhookUrls): string {
  if (flow === "forward" && settings.forwardTo) {
    const response = new twilio.twiml.VoiceResponse();
    // answerOnBridge: the caller hears ringing, not an answered line, until the business picks up.
    response
      .dial({ action: urls.dial, method: "POST", timeout: settings.forwardTimeoutSeconds, answerOnBridge: true })
      .number(settings.forwardTo);
    return response.toString();
  }
  if (flow === "voicemail") return voicemailTwiml(settings, urls);
  return unavailableTwiml(settings);
}

/** The greeting, then a recording whose action and status callback both report to CallFlow. */
export function voicemailTwiml(settings: VoiceSettings, urls: VoiceWebhookUrls): string {
  const response = new twilio.twiml.VoiceResponse();
  response.say(
    { language: settings.voiceLanguage },
    voicemailGreeting({
      businessName: settings.businessName,
      language: settings.voiceLanguage,
      greeting: settings.voicemailGreeting,
    }),
  );
  response.record({
    action: urls.recording,
    method: "POST",
    timeout: RECORDING_SILENCE_SECONDS,
    maxLength: VOICEMAIL_MAX_SECONDS,
    playBeep: true,
    recordingStatusCallback: urls.recording,
    recordingStatusCallbackMethod: "POST",
    // "absent" reports an empty recording (silence after the beep): then no action is requested.
    recordingStatusCallbackEvent: ["completed", "absent"],
  });
  // Reached only after an empty recording: Twilio then goes on to the next verb.
  response.hangup();
  return response.toString();
}

/** Nobody to forward to and no voicemail: a sentence in the business's language, then goodbye. */
function unavailableTwiml(settings: VoiceSettings): string {
  const response = new twilio.twiml.VoiceResponse();
  response.say(
    { language: settings.voiceLanguage },
    unavailableMessage({ businessName: settings.businessName, language: settings.voiceLanguage }),
  );
  response.hangup();
  return response.toString();
}

export function hangupTwiml(): string {
  const response = new twilio.twiml.VoiceResponse();
  response.hangup();
  return response.toString();
}

/** The answer to a callback whose TwiML Twilio does not run (status callbacks). */
export function emptyTwiml(): string {
  return new twilio.twiml.VoiceResponse().toString();
}

export const TWIML_HEADERS = { "content-type": "text/xml; charset=utf-8" };
