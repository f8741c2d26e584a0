import { z } from "zod";

/** Twilio's message statuses plus our own 'pending': the row exists, the send is not accepted yet. */
export const messageStatuses = [
  "pending",
  "accepted",
  "scheduled",
  "queued",
  "sending",
  "sent",
  "delivered",
  "read",
  "undelivered",
  "failed",
  "canceled",
] as const;

export type MessageStatus = (typeof messageStatuses)[number];

export const messageStatusSchema = z.enum(messageStatuses, {
  error: (issue) =>
    `Unknown message status ${JSON.stringify(issue.input)}. Expected one of ${messageStatuses.join(", ")}.`,
});

/** Progress along the way to the handset. accepted and scheduled are the same step. */
export const messageStatusProgress: Readonly<Record<MessageStatus, number | undefined>> = {
  pending: 0,
  accepted: 1,
  scheduled: 1,
  queued: 2,
  sending: 3,
  sent: 4,
  delivered: 5,
  read: 6,
  undelivered: undefined,
  failed: undefined,
  canceled: undefined,
};

/** Twilio sends status strings we may not know yet; they are recorded as events, not stored. */
export function parseMessageStatus(value: string): MessageStatus | null {
  const parsed = messageStatusSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** The message did not and will not reach the handset. */
export function isFailure(status: MessageStatus): boolean {
  return status === "failed" || status === "undelivered" || status === "canceled";
}

/** The handset has the message. */
export function isDeliveredLike(status: MessageStatus): boolean {
  return status === "delivered" || status === "read";
}

/** No later callback can change this status (see `mergeStatus`). */
export function isFinal(status: MessageStatus): boolean {
  return isFailure(status) || status === "read";
}

/**
 * The status to store when a callback reports `incoming` for a message stored as `current`.
 * Callbacks arrive out of order and repeat, so a status only moves forward:
 * pending < accepted = scheduled < queued < sending < sent < delivered < read.
 *
 * A failure (failed, undelivered, canceled) ends the message: nothing replaces it. It
 * replaces any status short of delivered; Twilio does report failed after sent. A failure
 * after delivered or read is ignored: the handset confirmed it has the message, and believing
 * the later report would send the caller the same message again by SMS. The consequence:
 * when Twilio reports both a delivery and a failure for one message, the one that arrives
 * first stays.
 */
export function mergeStatus(current: MessageStatus, incoming: MessageStatus): MessageStatus {
  if (isFailure(current)) return current;
  if (isFailure(incoming)) return isDeliveredLike(current) ? current : incoming;
  return (messageStatusProgress[incoming] ?? 0) > (messageStatusProgress[current] ?? 0) ? incoming : current;
}
