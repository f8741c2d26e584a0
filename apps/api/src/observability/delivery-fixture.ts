// For tests: calls, jobs and messages written as call-completed and deliver-message leave
// them, at chosen ages, so the delivery metrics have real rows to count.
import { randomBytes } from "node:crypto";
import type { Database } from "@callflow/db";
import { ORG_A } from "@callflow/db/testing";
import { type MessageStatus, plans, quotaReachedReason } from "@callflow/domain";

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
const hex32 = () => randomBytes(16).toString("hex");
// Numbers no fixture uses, so their absence from the output means something.
export const callerOf = (org: string, index: number) =>
  `+1419555${org === ORG_A ? 1 : 2}${String(index).padStart(3, "0")}`;

export interface MessageSpec {
  channel: "whatsapp" | "sms";
  status: MessageStatus;
  /** When the provider accepted it; undefined: it never was. */
  sentAgo?: number;
  errorCode?: number;
  changedAgo?: number;
}

export interface JobSpec {
  status: "pending" | "scheduled" | "sending" | "delivered" | "failed" | "skipped";
  decision?: "send" | "skip" | "defer";
  reason?: string;
  channels?: Array<"whatsapp" | "sms">;
  finalChannel?: "whatsapp" | "sms";
  /** Milliseconds before now: the call's end, the job's creation and its completion. */
  endedAgo: number;
  createdAgo?: number;
  completedAgo?: number;
  messages?: MessageSpec[];
}

/** A call, its job and its messages, as call-completed and deliver-message leave them. */
export async function insertJob(database: Database, org: string, index: number, spec: JobSpec) {
  const at = (ago: number | undefined) => (ago === undefined ? null : new Date(Date.now() - ago));
  const caller = callerOf(org, index);
  await database.withService(async (tx) => {
    const call = await tx
      .insertInto("call_logs")
      .values({
        organization_id: org,
        call_sid: `CA${hex32()}`,
        from_number: caller,
        to_number: "+15550100001",
        status: "completed",
        outcome: "missed",
        ended_at: at(spec.endedAgo),
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    const job = await tx
      .insertInto("message_jobs")
      .values({
        organization_id: org,
        call_log_id: call.id,
        to_number: caller,
        decision: spec.decision ?? "send",
        reason: spec.reason ?? "missed call",
        status: spec.status,
        channels: spec.channels ?? ["whatsapp", "sms"],
        final_channel: spec.finalChannel ?? null,
        created_at: at(spec.createdAgo ?? spec.endedAgo) ?? new Date(),
        completed_at: at(spec.completedAgo),
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    for (const message of spec.messages ?? []) {
      await tx
        .insertInto("messages")
        .values({
          organization_id: org,
          job_id: job.id,
          channel: message.channel,
          provider_sid: message.sentAgo === undefined ? null : `SM${hex32()}`,
          to_number: caller,
          status: message.status,
          error_code: message.errorCode ?? null,
          sent_at: at(message.sentAgo),
          status_changed_at: at(message.changedAgo ?? message.sentAgo ?? 0) ?? new Date(),
        })
        .execute();
    }
  });
}

// Each business gets the same jobs, so every count below is twice one business's.
export const DELIVERY_JOBS: JobSpec[] = [
  // WhatsApp delivered, first sent 30 s after the call.
  {
    status: "delivered",
    finalChannel: "whatsapp",
    endedAgo: 10 * MINUTE + 30_000,
    completedAgo: 9 * MINUTE,
    messages: [{ channel: "whatsapp", status: "read", sentAgo: 10 * MINUTE }],
  },
  // WhatsApp accepted 60 s after the call, then failed (not a WhatsApp user): the SMS delivered.
  {
    status: "delivered",
    finalChannel: "sms",
    endedAgo: 20 * MINUTE + 60_000,
    completedAgo: 15 * MINUTE,
    messages: [
      { channel: "whatsapp", status: "failed", sentAgo: 20 * MINUTE, errorCode: 63024, changedAgo: 19 * MINUTE },
      { channel: "sms", status: "delivered", sentAgo: 16 * MINUTE },
    ],
  },
  // SMS only (no WhatsApp template): not a fallback; three hours ago, 120 s after the call.
  {
    status: "delivered",
    channels: ["sms"],
    finalChannel: "sms",
    endedAgo: 3 * HOUR + 120_000,
    completedAgo: 3 * HOUR - MINUTE,
    messages: [{ channel: "sms", status: "delivered", sentAgo: 3 * HOUR }],
  },
  // Twilio refused the send two hours ago: never accepted.
  {
    status: "failed",
    channels: ["sms"],
    endedAgo: 2 * HOUR,
    completedAgo: 2 * HOUR - MINUTE,
    messages: [{ channel: "sms", status: "failed", errorCode: 21211, changedAgo: 2 * HOUR - MINUTE }],
  },
  // Held for quiet hours, sent this morning: delivered, but not a first send to time.
  {
    status: "delivered",
    decision: "defer",
    reason: "quiet hours",
    channels: ["sms"],
    finalChannel: "sms",
    endedAgo: 8 * HOUR,
    completedAgo: 9 * MINUTE,
    messages: [{ channel: "sms", status: "delivered", sentAgo: 10 * MINUTE }],
  },
  {
    status: "skipped",
    decision: "skip",
    reason: quotaReachedReason(plans.starter, 500),
    endedAgo: 5 * MINUTE,
    completedAgo: 5 * MINUTE,
    channels: [],
  },
  {
    status: "skipped",
    decision: "skip",
    reason: "opted out",
    endedAgo: 5 * MINUTE,
    completedAgo: 5 * MINUTE,
    channels: [],
  },
  // Two days old: outside every window.
  {
    status: "delivered",
    finalChannel: "whatsapp",
    endedAgo: 48 * HOUR,
    completedAgo: 48 * HOUR,
    messages: [{ channel: "whatsapp", status: "failed", sentAgo: 48 * HOUR, errorCode: 63016 }],
  },
];
