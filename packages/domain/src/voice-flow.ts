// The voice flow: what CallFlow tells Twilio to do with an incoming call (forward it to the
// business's own phone, then offer voicemail), and which outcome the facts Twilio reports
// add up to. Twilio reports a call in several callbacks (the Dial action, the Record action,
// the recording status callback, the final status callback), in an order that is only
// partly fixed; the outcome is a function of the facts, whatever order they came in.
import { z } from "zod";
import { type CallOutcome, type CallStatus, callOutcome, isFinalCallStatus } from "./call-outcome.ts";

/** Twilio's DialCallStatus: how the forwarded leg ended (the Dial verb's action request). */
export const dialCallStatuses = ["completed", "answered", "busy", "no-answer", "failed", "canceled"] as const;

export type DialCallStatus = (typeof dialCallStatuses)[number];

export const dialCallStatusSchema = z.enum(dialCallStatuses, {
  error: (issue) =>
    `Unknown dial status ${JSON.stringify(issue.input)}. Expected one of ${dialCallStatuses.join(", ")}.`,
});

/** What the TwiML answered to the incoming call did first. */
export const voiceFlows = ["forward", "voicemail", "hangup"] as const;

export type VoiceFlow = (typeof voiceFlows)[number];

/** Which callback settled the outcome. */
export const outcomeSources = ["incoming", "dial", "recording", "status"] as const;

export type OutcomeSource = (typeof outcomeSources)[number];

/** The languages the voicemail greeting is spoken in (Twilio <Say language>); CallFlow speaks English and Spanish. */
export const voiceLanguages = ["en-US", "en-GB", "en-AU", "es-ES", "es-MX", "es-US"] as const;

export type VoiceLanguage = (typeof voiceLanguages)[number];

/**
 * How long the business's phone rings before the call counts as not answered. Twilio may
 * add up to 5 s to a Dial timeout, and carriers' voicemail usually answers after about
 * 20 s: 12 s ends the forwarded leg at 12–17 s, before the business's own voicemail
 * could pick up and make an unanswered call look answered.
 */
export const DEFAULT_FORWARD_TIMEOUT_SECONDS = 12;

/** Every fact the callbacks of one call have reported so far. */
export interface CallFacts {
  /** The call's furthest status (the final one once the status callback came). */
  callStatus: CallStatus;
  /** The whole call, from the final status callback. */
  durationSeconds?: number | null;
  answeredBy?: string | null;
  /** What the incoming TwiML did; null when the call never came through CallFlow's Voice URL. */
  flow: VoiceFlow | null;
  dialStatus: DialCallStatus | null;
  dialDurationSeconds?: number | null;
  /** The voicemail greeting and <Record> were answered to Twilio. */
  voicemailOffered: boolean;
  /** Seconds recorded after the beep; 0 for an empty recording; null while nothing is known. */
  recordingDurationSeconds: number | null;
}

export interface SettledOutcome {
  outcome: CallOutcome;
  source: OutcomeSource;
}

/** A dialled leg that lasted at least the business's shortest answered call was picked up. */
export function dialAnswered(
  status: DialCallStatus,
  durationSeconds: number | null | undefined,
  answeredMinSeconds: number,
): boolean {
  return (status === "completed" || status === "answered") && (durationSeconds ?? 0) >= answeredMinSeconds;
}

/**
 * How long after a call's final status the Dial action and the Record action may still
 * arrive. Twilio sends them when the caller hangs up during the Dial or the recording, at
 * about the same moment as the final status callback, so either may reach CallFlow first;
 * a final status waits this long for them before it settles the call on its own.
 */
export const VOICE_CALLBACK_GRACE_SECONDS = 10;

/**
 * The call's outcome once the facts settle it, or null while a callback that could still
 * change it is due. The Dial and Record actions may reach CallFlow just after the final
 * status (see VOICE_CALLBACK_GRACE_SECONDS), so a final status settles a call that went
 * through the Voice URL only once `overdue` (its grace has passed): then a greeting offered
 * with no recording means the caller hung up before the beep (missed), and a forward with no
 * Dial result means the Dial action never reached CallFlow (missed: a message to someone who
 * spoke to the business is the smaller mistake than none to someone who did not). A call
 * that never came through the Voice URL is judged by its final status alone, as before the
 * flow existed.
 */
export function settleCallOutcome(
  facts: CallFacts,
  { answeredMinSeconds, overdue = false }: { answeredMinSeconds: number; overdue?: boolean },
): SettledOutcome | null {
  // Ended, and nothing else due: the final status has waited out its grace.
  const over = isFinalCallStatus(facts.callStatus) && overdue;
  if (facts.recordingDurationSeconds !== null && facts.recordingDurationSeconds > 0) {
    return { outcome: "voicemail", source: "recording" };
  }
  if (facts.dialStatus !== null) {
    if (dialAnswered(facts.dialStatus, facts.dialDurationSeconds, answeredMinSeconds)) {
      return { outcome: "answered", source: "dial" };
    }
    if (!facts.voicemailOffered) return { outcome: "missed", source: "dial" };
  }
  if (facts.voicemailOffered) {
    if (facts.recordingDurationSeconds === 0) return { outcome: "missed", source: "recording" };
    return over ? { outcome: "missed", source: "status" } : null;
  }
  switch (facts.flow) {
    case "hangup":
      return { outcome: "missed", source: "incoming" };
    case "forward":
    case "voicemail":
      return over ? { outcome: "missed", source: "status" } : null;
    case null: {
      const outcome = callOutcome(
        { callStatus: facts.callStatus, durationSeconds: facts.durationSeconds, answeredBy: facts.answeredBy },
        { answeredMinSeconds },
      );
      return outcome ? { outcome, source: "status" } : null;
    }
  }
}

const greetings: Record<
  "en" | "es",
  { voicemail: (business: string) => string; unavailable: (business: string) => string }
> = {
  en: {
    voicemail: (business) =>
      `You have reached ${business || "us"}. We can't take your call right now. Please leave a message after the beep.`,
    unavailable: (business) =>
      `You have reached ${business || "us"}. We can't take your call right now. We will get back to you soon. Goodbye.`,
  },
  es: {
    voicemail: (business) =>
      `Ha llamado a ${business || "nuestro negocio"}. Ahora no podemos atenderle. Deje su mensaje después de la señal.`,
    unavailable: (business) =>
      `Ha llamado a ${business || "nuestro negocio"}. Ahora no podemos atenderle. Le responderemos pronto. Adiós.`,
  },
};

const languageOf = (language: VoiceLanguage) => (language.startsWith("es") ? "es" : "en");

/** What the caller hears before the beep: the business's own greeting, or ours in its language. */
export function voicemailGreeting(settings: {
  businessName: string;
  language: VoiceLanguage;
  greeting: string | null;
}): string {
  return settings.greeting ?? greetings[languageOf(settings.language)].voicemail(settings.businessName);
}

/** What the caller hears when nobody can take the call and voicemail is off. */
export function unavailableMessage(settings: { businessName: string; language: VoiceLanguage }): string {
  return greetings[languageOf(settings.language)].unavailable(settings.businessName);
}
