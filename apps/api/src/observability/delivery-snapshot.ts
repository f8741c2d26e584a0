// What the delivery pipeline did lately, read from the database at scrape time: every API
// replica reports the same truth, and the workflows need no instrumentation. Each read is a
// range over a recent window on an index of its own (20261202300000_delivery_metrics_indexes),
// so a scrape costs the window's rows, not the table's. Windows: the last hour and the last
// 24 hours, both from one scan, measured from the database's clock.
import type { Database, Tx } from "@callflow/db";
import { plans, quotaReachedReason } from "@callflow/domain";
import { sql } from "kysely";

export const WINDOWS = ["1h", "24h"] as const;
export type Window = (typeof WINDOWS)[number];
export type PerWindow = Record<Window, number>;

export const OPEN_JOB_STATUSES = ["pending", "scheduled", "sending"] as const;
export const FIRST_SEND_QUANTILES = [0.5, 0.95, 0.99] as const;
/** How the reason call-completed gives a job skipped at the plan's quota begins, whatever the plan. */
export const QUOTA_REASON_PREFIX = quotaReachedReason(plans.free, 0).split(":")[0] ?? "";

export interface DeliverySnapshot {
  /** Jobs that reached a final status in the window, by that status and the channel that delivered ("none"). */
  completedJobs: Array<{ status: string; channel: string; jobs: PerWindow }>;
  /** Jobs delivered by SMS after WhatsApp was tried first. */
  smsFallbacks: PerWindow;
  /** Jobs skipped because the plan's quota was used up. */
  quotaSkips: PerWindow;
  /** Jobs not final yet, whatever their age, and how long the oldest has waited (0 when none). */
  openJobs: Array<{ status: string; jobs: number; oldestAgeSeconds: number }>;
  /** Sends the provider refused or reported failed, with its error code, by channel. */
  providerErrors: Array<{ channel: string; code: number; messages: PerWindow }>;
  /** Call end to a job's first accepted send, for jobs sent in the window (deferred jobs aside). */
  firstSend: Record<Window, { jobs: number; quantiles: number[] | null }>;
  /** Events written by webhooks and not yet sent to Inngest. */
  outbox: { unsent: number; oldestAgeSeconds: number };
}

/** Enough for a slow disk; a scrape that would take longer gives up rather than pile up. */
const STATEMENT_TIMEOUT = "5s";

export function readDeliverySnapshot(database: Database): Promise<DeliverySnapshot> {
  return database.withService(async (tx) => {
    await sql`select set_config('statement_timeout', ${STATEMENT_TIMEOUT}, true)`.execute(tx);
    const completed = await readCompletedJobs(tx);
    return {
      completedJobs: completed.map((row) => ({
        status: row.status,
        channel: row.channel,
        jobs: { "1h": row.last_hour, "24h": row.last_day },
      })),
      smsFallbacks: sumWindows(completed, "fallback_hour", "fallback_day"),
      quotaSkips: sumWindows(completed, "quota_hour", "quota_day"),
      openJobs: await readOpenJobs(tx),
      providerErrors: await readProviderErrors(tx),
      firstSend: await readFirstSends(tx),
      outbox: await readOutbox(tx),
    };
  });
}

interface CompletedRow {
  status: string;
  channel: string;
  last_hour: number;
  last_day: number;
  fallback_hour: number;
  fallback_day: number;
  quota_hour: number;
  quota_day: number;
}

const sumWindows = (rows: CompletedRow[], hour: keyof CompletedRow, day: keyof CompletedRow): PerWindow => ({
  "1h": rows.reduce((sum, row) => sum + Number(row[hour]), 0),
  "24h": rows.reduce((sum, row) => sum + Number(row[day]), 0),
});

// A job delivered by SMS whose channels began with WhatsApp tried WhatsApp first: the worker
// tries them in order. A quota skip's reason is the decision's (`reason`); `final_reason` is
// read first in case a later change records it there.
async function readCompletedJobs(tx: Tx): Promise<CompletedRow[]> {
  const { rows } = await sql<CompletedRow>`
    select status, coalesce(final_channel, 'none') as channel,
           count(*) filter (where completed_at > now() - interval '1 hour')::int as last_hour,
           count(*)::int as last_day,
           count(*) filter (where fallback and completed_at > now() - interval '1 hour')::int as fallback_hour,
           count(*) filter (where fallback)::int as fallback_day,
           count(*) filter (where quota and completed_at > now() - interval '1 hour')::int as quota_hour,
           count(*) filter (where quota)::int as quota_day
      from (select status, final_channel, completed_at,
                   status = 'delivered' and final_channel = 'sms' and channels[1] = 'whatsapp' as fallback,
                   status = 'skipped' and starts_with(coalesce(final_reason, reason), ${QUOTA_REASON_PREFIX}) as quota
              from public.message_jobs
             where completed_at > now() - interval '24 hours') as recent
     group by status, coalesce(final_channel, 'none')
     order by status, channel`.execute(tx);
  return rows;
}

async function readOpenJobs(tx: Tx): Promise<DeliverySnapshot["openJobs"]> {
  const { rows } = await sql<{ status: string; jobs: number; oldest_age_seconds: number }>`
    select status, count(*)::int as jobs,
           greatest(extract(epoch from now() - min(created_at)), 0)::float8 as oldest_age_seconds
      from public.message_jobs
     where status in ('pending', 'scheduled', 'sending')
     group by status`.execute(tx);
  return OPEN_JOB_STATUSES.map((status) => {
    const row = rows.find((candidate) => candidate.status === status);
    return { status, jobs: row?.jobs ?? 0, oldestAgeSeconds: row?.oldest_age_seconds ?? 0 };
  });
}

async function readProviderErrors(tx: Tx): Promise<DeliverySnapshot["providerErrors"]> {
  const { rows } = await sql<{ channel: string; code: number; last_hour: number; last_day: number }>`
    select channel, error_code as code,
           count(*) filter (where status_changed_at > now() - interval '1 hour')::int as last_hour,
           count(*)::int as last_day
      from public.messages
     where error_code is not null and status_changed_at > now() - interval '24 hours'
     group by channel, error_code
     order by last_day desc, channel, code`.execute(tx);
  return rows.map((row) => ({
    channel: row.channel,
    code: row.code,
    messages: { "1h": row.last_hour, "24h": row.last_day },
  }));
}

// A job's first send is its earliest accepted message; a later channel's send in the window
// is not counted again. Deferred jobs (quiet hours) wait by design and would drown the signal.
// The earliest is a correlated min() (a subplan on the job's own messages) rather than NOT
// EXISTS, which the planner turned into a hash anti-join over the whole messages table.
async function readFirstSends(tx: Tx): Promise<DeliverySnapshot["firstSend"]> {
  const { rows } = await sql<{
    hour_jobs: number;
    hour_quantiles: number[] | null;
    day_jobs: number;
    day_quantiles: number[] | null;
  }>`
    with first_sends as (
      select m.sent_at, greatest(extract(epoch from m.sent_at - c.ended_at), 0)::float8 as seconds
        from public.messages m
        join public.message_jobs j on j.id = m.job_id
        join public.call_logs c on c.organization_id = j.organization_id and c.id = j.call_log_id
       where m.sent_at > now() - interval '24 hours'
         and j.decision = 'send'
         and c.ended_at is not null
         and m.sent_at = (select min(sibling.sent_at) from public.messages sibling where sibling.job_id = m.job_id)
    )
    select count(*) filter (where sent_at > now() - interval '1 hour')::int as hour_jobs,
           percentile_cont(${sql.raw(`array[${FIRST_SEND_QUANTILES.join(", ")}]`)}) within group (order by seconds)
             filter (where sent_at > now() - interval '1 hour') as hour_quantiles,
           count(*)::int as day_jobs,
           percentile_cont(${sql.raw(`array[${FIRST_SEND_QUANTILES.join(", ")}]`)}) within group (order by seconds)
             as day_quantiles
      from first_sends`.execute(tx);
  const row = rows[0];
  return {
    "1h": { jobs: row?.hour_jobs ?? 0, quantiles: row?.hour_quantiles ?? null },
    "24h": { jobs: row?.day_jobs ?? 0, quantiles: row?.day_quantiles ?? null },
  };
}

async function readOutbox(tx: Tx): Promise<DeliverySnapshot["outbox"]> {
  const { rows } = await sql<{ unsent: number; oldest_age_seconds: number | null }>`
    select count(*)::int as unsent,
           greatest(extract(epoch from now() - min(created_at)), 0)::float8 as oldest_age_seconds
      from app.event_outbox
     where sent_at is null`.execute(tx);
  return { unsent: rows[0]?.unsent ?? 0, oldestAgeSeconds: rows[0]?.oldest_age_seconds ?? 0 };
}
