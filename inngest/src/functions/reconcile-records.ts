// What reconcile-deliveries reads and writes, across every business (service role): sent
// messages whose outcome Twilio never told us, what Twilio says when asked, and jobs that
// nothing moves any more.
import type { Database } from "@callflow/db";
import { type Channel, isDeliveredLike, isFailure, type MessageStatus, messageStatuses } from "@callflow/domain";
import type { MessagingProvider } from "@callflow/providers";
import { sql } from "kysely";
import { applyStatusReport } from "../message-status-report.ts";
import { writeJobOutcome } from "./delivery-records.ts";

export interface ReconcileSettings {
  /** When it runs: a cron schedule in Inngest's syntax (`TZ=Europe/Madrid 0 * * * *` allowed). */
  cron: string;
  /** A sent message whose status has not moved for this long is asked about. */
  afterMinutes: number;
  /** A job not final with no change for this long beyond its fallback window is finished. */
  stuckJobMinutes: number;
  /** Messages asked about, and jobs finished, per run at most. */
  pageSize: number;
}

export const defaultReconcileSettings: ReconcileSettings = {
  cron: "*/5 * * * *",
  afterMinutes: 30,
  stuckJobMinutes: 120,
  pageSize: 100,
};

/**
 * Twilio changes a message's status for about three days at most (a carrier's late receipt);
 * older messages are not asked about again, so an SMS whose carrier sends no receipts is not
 * asked about forever.
 */
export const RECONCILE_HORIZON_HOURS = 72;

/** Sent, and its outcome (delivered, read, or a failure) still unknown. */
export const unsettledStatuses: readonly MessageStatus[] = messageStatuses.filter(
  (status) => status !== "pending" && !isDeliveredLike(status) && !isFailure(status),
);

export interface ReconcileRecordsDeps {
  database: Database;
  messaging: Pick<MessagingProvider, "fetchMessage">;
  /** The outbox relay: sends a committed status event now rather than at its next sweep. */
  outbox?: { wake(): void };
  now?: () => Date;
}

export interface UnsettledMessage {
  id: string;
  sid: string;
}

const minutesBefore = (at: Date, minutes: number) => new Date(at.getTime() - minutes * 60_000);

/** The page of messages to ask Twilio about now, oldest change first. */
export async function findUnsettledMessages(
  deps: ReconcileRecordsDeps,
  settings: ReconcileSettings,
): Promise<UnsettledMessage[]> {
  const now = deps.now?.() ?? new Date();
  const rows = await deps.database.withService((tx) =>
    tx
      .selectFrom("messages")
      .select(["id", "provider_sid"])
      .where("provider_sid", "is not", null)
      .where("status", "in", unsettledStatuses)
      .where("status_changed_at", "<", minutesBefore(now, settings.afterMinutes))
      .where(sql<boolean>`coalesce(sent_at, created_at) > ${minutesBefore(now, RECONCILE_HORIZON_HOURS * 60)}`)
      .where((where) => where.or([where("reconcile_after", "is", null), where("reconcile_after", "<=", now)]))
      .orderBy("status_changed_at")
      .orderBy("id")
      .limit(settings.pageSize)
      .execute(),
  );
  return rows.map((row) => ({ id: row.id, sid: row.provider_sid as string }));
}

export type Reconciled =
  | {
      outcome: "unchanged" | "moved";
      from: MessageStatus;
      to: MessageStatus;
      reported: MessageStatus;
      /** Whether Twilio's answer was news, recorded as an event. */
      recorded: boolean;
    }
  | { outcome: "fetch_failed"; reason: string };

/**
 * Asks Twilio once and applies the answer as a status callback is applied. A failed ask is
 * recorded on the message and asked again at the next run. A message still unsettled is
 * asked again after half its age (at least `afterMinutes`): a handful of asks over its
 * horizon rather than one a run.
 */
export async function reconcileMessage(
  deps: ReconcileRecordsDeps,
  settings: ReconcileSettings,
  message: UnsettledMessage,
): Promise<Reconciled> {
  let fetched: Awaited<ReturnType<MessagingProvider["fetchMessage"]>>;
  try {
    fetched = await deps.messaging.fetchMessage(message.sid);
  } catch (error) {
    const reason = `asking Twilio failed: ${(error as Error).message}`.slice(0, 500);
    await deps.database.withService((tx) =>
      tx
        .updateTable("messages")
        .set({ reconcile_error: reason, reconcile_after: null })
        .where("id", "=", message.id)
        .execute(),
    );
    return { outcome: "fetch_failed", reason };
  }
  const now = deps.now?.() ?? new Date();
  const reconciled = await deps.database.withService(
    async (tx): Promise<Extract<Reconciled, { recorded: boolean }>> => {
      const stored = await tx
        .selectFrom("messages")
        .select(["id", "organization_id", "status", "sent_at", "created_at"])
        .where("id", "=", message.id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      const lastHeard = await tx
        .selectFrom("message_events")
        .select("status")
        .where("organization_id", "=", stored.organization_id)
        .where("message_id", "=", stored.id)
        .orderBy("received_at", "desc")
        .limit(1)
        .executeTakeFirst();
      const from = stored.status as MessageStatus;
      let to = from;
      let recorded = false;
      // News only: what we store, or what Twilio last told us (also a status behind ours), is none.
      if (fetched.status !== from && fetched.status !== lastHeard?.status) {
        const applied = await applyStatusReport(tx, {
          sid: message.sid,
          messageId: stored.id,
          reported: fetched.status,
          errorCode: fetched.errorCode,
          errorMessage: fetched.errorMessage,
          source: "reconciled",
          payload: { status: fetched.status, error_code: fetched.errorCode, asked_at: now.toISOString() },
          at: now,
        });
        to = applied?.status ?? from;
        recorded = true;
      }
      const age = now.getTime() - (stored.sent_at ?? stored.created_at).getTime();
      const askAgainAt = new Date(now.getTime() + Math.max(settings.afterMinutes * 60_000, age / 2));
      await tx
        .updateTable("messages")
        .set({ reconcile_error: null, reconcile_after: unsettledStatuses.includes(to) ? askAgainAt : null })
        .where("id", "=", stored.id)
        .execute();
      return { outcome: to === from ? "unchanged" : "moved", from, to, reported: fetched.status, recorded };
    },
  );
  // A waiting delivery hears of it now, not at the relay's next sweep.
  if (reconciled.recorded) deps.outbox?.wake();
  return reconciled;
}

export interface StuckJobMessage {
  channel: Channel;
  status: MessageStatus;
  provider_sid: string | null;
}

/**
 * How a job that nothing moves any more ends: delivered when a channel's message reached the
 * handset (or an SMS was sent, as deliver-message counts an SMS whose carrier sends no
 * receipts); otherwise failed, saying it was stuck.
 */
export function stuckJobOutcome(
  job: { status: string; channels: Channel[] },
  messages: StuckJobMessage[],
  stuckMinutes: number,
): { status: "delivered" | "failed"; channel: Channel | null; reason: string } {
  for (const channel of job.channels) {
    const message = messages.find((row) => row.channel === channel);
    if (message && isDeliveredLike(message.status)) {
      const name = channel === "whatsapp" ? "WhatsApp" : "SMS";
      return { status: "delivered", channel, reason: `delivered by ${name}; found by reconciliation` };
    }
  }
  const sms = messages.find((row) => row.channel === "sms");
  if (sms?.provider_sid && !isFailure(sms.status)) {
    return { status: "delivered", channel: "sms", reason: `SMS ${sms.status}; the carrier sent no delivery receipt` };
  }
  return {
    status: "failed",
    channel: null,
    reason: `stuck ${job.status} for over ${stuckMinutes} minutes; finished by reconciliation`,
  };
}

/**
 * Finishes a page of jobs not final whose last change (theirs or their messages') is older
 * than their fallback window plus `stuckJobMinutes`, and that are not deferred to a later
 * time: a run failed for good without finishing them, or their event was never sent.
 */
export async function finishStuckJobs(
  deps: ReconcileRecordsDeps,
  settings: ReconcileSettings,
): Promise<Array<{ jobId: string; status: string; reason: string }>> {
  const now = deps.now?.() ?? new Date();
  const cutoff = minutesBefore(now, settings.stuckJobMinutes);
  return deps.database.withService(async (tx) => {
    const stuck = await sql<{ id: string; organization_id: string; status: string; channels: Channel[] }>`
      select j.id, j.organization_id, j.status, j.channels
        from public.message_jobs j
       where j.status in ('pending', 'scheduled', 'sending')
         and j.updated_at < ${cutoff}
         and j.updated_at + make_interval(secs => j.fallback_window_seconds) < ${cutoff}
         and coalesce(j.send_after, j.created_at) < ${cutoff}
         and not exists (
               select 1 from public.messages m
                where m.organization_id = j.organization_id and m.job_id = j.id
                  and greatest(m.status_changed_at, coalesce(m.sent_at, m.created_at))
                      + make_interval(secs => j.fallback_window_seconds) >= ${cutoff})
       order by j.updated_at, j.id
       limit ${settings.pageSize}
         for update of j skip locked`.execute(tx);
    const finished: Array<{ jobId: string; status: string; reason: string }> = [];
    for (const job of stuck.rows) {
      const messages = await tx
        .selectFrom("messages")
        .select(["channel", "status", "provider_sid"])
        .where("organization_id", "=", job.organization_id)
        .where("job_id", "=", job.id)
        .execute();
      const outcome = stuckJobOutcome(job, messages as StuckJobMessage[], settings.stuckJobMinutes);
      await writeJobOutcome(tx, job.id, outcome, now);
      finished.push({ jobId: job.id, status: outcome.status, reason: outcome.reason });
    }
    return finished;
  });
}
