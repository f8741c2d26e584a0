// What the overview page shows beside stats.overview: where every call's message ended
// (WhatsApp, SMS fallback, failed, skipped and why) and the same counted per day, with
// days cut in the business's own timezone so "today" means the business's today.
import type { TRPCRouterRecord } from "@trpc/server";
import { sql } from "kysely";
import { orgProcedure } from "../trpc.ts";
import { statsOverviewInput } from "./stats.ts";

export interface DailyPoint {
  /** The business's calendar day, YYYY-MM-DD. */
  day: string;
  calls: number;
  reached: number;
  whatsapp: number;
  sms: number;
  failed: number;
  skipped: number;
}

export const statsTrendsRouter = {
  outcomes: orgProcedure.input(statsOverviewInput).query(({ ctx, input }) =>
    ctx.db(async (tx) => {
      const calls = await tx
        .selectFrom("call_logs")
        .select([
          sql<number>`count(*)::int`.as("total"),
          sql<number>`count(distinct from_number)::int`.as("callers"),
          sql<number>`count(*) filter (where outcome = 'missed')::int`.as("missed"),
          sql<number>`count(*) filter (where outcome = 'answered')::int`.as("answered"),
          sql<number>`count(*) filter (where outcome = 'voicemail')::int`.as("voicemail"),
        ])
        .where("started_at", ">=", input.from)
        .where("started_at", "<", input.to)
        .executeTakeFirstOrThrow();
      const jobs = await tx
        .selectFrom("message_jobs")
        .select([
          sql<number>`count(distinct to_number) filter (where status = 'delivered')::int`.as("callersReached"),
          sql<number>`count(*) filter (where status = 'delivered' and final_channel = 'whatsapp')::int`.as(
            "deliveredWhatsapp",
          ),
          sql<number>`count(*) filter (where status = 'delivered' and final_channel = 'sms' and 'whatsapp' = any(channels))::int`.as(
            "fellBackToSms",
          ),
          sql<number>`count(*) filter (where status = 'delivered' and final_channel = 'sms' and not 'whatsapp' = any(channels))::int`.as(
            "smsOnly",
          ),
          sql<number>`count(*) filter (where status = 'failed')::int`.as("failed"),
          sql<number>`count(*) filter (where status = 'skipped')::int`.as("skipped"),
          sql<number>`count(*) filter (where status in ('pending', 'scheduled', 'sending'))::int`.as("inProgress"),
        ])
        .where("created_at", ">=", input.from)
        .where("created_at", "<", input.to)
        .executeTakeFirstOrThrow();
      const skipReasons = await tx
        .selectFrom("message_jobs")
        .select(["reason", sql<number>`count(*)::int`.as("count")])
        .where("status", "=", "skipped")
        .where("created_at", ">=", input.from)
        .where("created_at", "<", input.to)
        .groupBy("reason")
        .orderBy("count", "desc")
        .orderBy("reason")
        .limit(10)
        .execute();
      return { period: input, calls, jobs, skipReasons };
    }),
  ),

  /** Per day of the business's timezone, every day of the period present (zeros included). */
  daily: orgProcedure.input(statsOverviewInput).query(({ ctx, input }) =>
    ctx.db(async (tx) => {
      const { rows } = await sql<DailyPoint>`
        with org as (select timezone as tz from public.organizations limit 1),
        days as (
          select d::date as day
            from org, generate_series(
              (${input.from}::timestamptz at time zone org.tz)::date,
              ((${input.to}::timestamptz - interval '1 microsecond') at time zone org.tz)::date,
              interval '1 day') as d
        ),
        calls as (
          select (started_at at time zone org.tz)::date as day, count(*)::int as calls
            from public.call_logs, org
           where started_at >= ${input.from} and started_at < ${input.to}
           group by 1
        ),
        jobs as (
          select (created_at at time zone org.tz)::date as day,
                 count(*) filter (where status = 'delivered')::int as reached,
                 count(*) filter (where status = 'delivered' and final_channel = 'whatsapp')::int as whatsapp,
                 count(*) filter (where status = 'delivered' and final_channel = 'sms')::int as sms,
                 count(*) filter (where status = 'failed')::int as failed,
                 count(*) filter (where status = 'skipped')::int as skipped
            from public.message_jobs, org
           where created_at >= ${input.from} and created_at < ${input.to}
           group by 1
        )
        select to_char(days.day, 'YYYY-MM-DD') as day,
               coalesce(calls.calls, 0) as calls, coalesce(jobs.reached, 0) as reached,
               coalesce(jobs.whatsapp, 0) as whatsapp, coalesce(jobs.sms, 0) as sms,
               coalesce(jobs.failed, 0) as failed, coalesce(jobs.skipped, 0) as skipped
          from days
          left join calls using (day)
          left join jobs using (day)
         order by days.day
      `.execute(tx);
      return rows;
    }),
  ),
} satisfies TRPCRouterRecord;
