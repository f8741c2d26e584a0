// Whether a caller may be messaged now, by their consent, and who may change it. One rule
// for the decision, the check when a deferred job wakes, and the check before each send.

export type ConsentSource = "inbound_keyword" | "dashboard" | "import" | "api" | "call" | "carrier";

/**
 * Opt-outs that came from the caller: a keyword they texted (STOP), or the carrier telling
 * us they unsubscribed from the sender (Twilio 21610, after they texted STOP to it). Only
 * the caller undoes these, by texting START; the database refuses anyone else's opt-in.
 */
export const callerOwnedOptOutSources: readonly ConsentSource[] = ["inbound_keyword", "carrier"];

export interface ConsentState {
  optedOut: boolean;
  optedIn: boolean;
}

/** Why the caller may not be messaged now, or null when they may. */
export function consentRefusalOf(contact: ConsentState | null, consentPolicy: "implied" | "explicit"): string | null {
  if (contact?.optedOut) return "the caller opted out";
  if (consentPolicy === "explicit" && !contact?.optedIn) return "the business messages only callers who opted in";
  return null;
}

/**
 * Why staff may not opt the caller back in, or null when they may, from the caller's latest
 * own entry: an opt-out from them (callerOwnedOptOutSources) or their keyword opt-in (START).
 * Opt-outs staff add on top of a STOP change nothing.
 */
export function staffOptInRefusalOf(latest: { action: "opt_in" | "opt_out"; source: ConsentSource } | null) {
  if (latest?.action !== "opt_out") return null;
  if (latest.source === "inbound_keyword") {
    return "the caller opted out by texting STOP: only they can opt back in, by texting START";
  }
  if (latest.source === "carrier") {
    return "the caller unsubscribed from this number at their carrier (Twilio error 21610): only they can opt back in, by texting START";
  }
  return null;
}
