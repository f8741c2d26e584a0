import { z } from "zod";

/** Twilio's CallStatus values. */
export const callStatuses = [
  "queued",
  "ringing",
  "in-progress",
  "completed",
  "busy",
  "failed",
  "no-answer",
  "canceled",
] as const;

export type CallStatus = (typeof callStatuses)[number];

/** After these nothing changes: the call is over. */
export const finalCallStatuses: readonly CallStatus[] = ["completed", "busy", "no-answer", "canceled", "failed"];

/** How far a call has got: callbacks arrive out of order, and a status only moves forward. */
export const callStatusOrder: readonly CallStatus[] = ["queued", "ringing", "in-progress", ...finalCallStatuses];

export const isFinalCallStatus = (status: CallStatus) => finalCallStatuses.includes(status);

export const callStatusSchema = z.enum(callStatuses, {
  error: (issue) => `Unknown call status ${JSON.stringify(issue.input)}. Expected one of ${callStatuses.join(", ")}.`,
});

/** Twilio's AnsweredBy values (answering machine detection on the forwarded leg). */
export const answeredByValues = [
  "human",
  "machine_start",
  "machine_end_beep",
  "machine_end_silence",
  "machine_end_other",
  "fax",
  "unknown",
] as const;

export type AnsweredBy = (typeof answeredByValues)[number];

export const callOutcomes = ["missed", "answered", "voicemail"] as const;

export type CallOutcome = (typeof callOutcomes)[number];

export type CallReport = {
  callStatus: CallStatus;
  durationSeconds?: number | null;
  /** As Twilio sent it; values we do not know are treated like "unknown". */
  answeredBy?: string | null;
};

/**
 * What happened to a call, from the caller's side; null while the call is not over.
 * A completed call counts as voicemail when a machine answered, as missed when it was
 * shorter than `answeredMinSeconds` (a hang-up during the greeting) or answered by a fax,
 * and as answered otherwise. A completed call without a duration counts as lasting 0 s,
 * so it is missed unless `answeredMinSeconds` is 0: a missed-call message to someone who
 * did speak to the business is the smaller mistake than none to someone who did not.
 */
export function callOutcome(
  { callStatus, durationSeconds, answeredBy }: CallReport,
  { answeredMinSeconds }: { answeredMinSeconds: number },
): CallOutcome | null {
  switch (callStatus) {
    case "queued":
    case "ringing":
    case "in-progress":
      return null;
    case "busy":
    case "no-answer":
    case "canceled":
    case "failed":
      return "missed";
    case "completed":
      if (answeredBy?.startsWith("machine_")) return "voicemail";
      if (answeredBy === "fax") return "missed";
      return (durationSeconds ?? 0) < answeredMinSeconds ? "missed" : "answered";
  }
}
