import { sql } from "kysely";
import type { OrgContext } from "../../trpc.ts";
import type { StatsPeriod } from "./period.schema.ts";

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

/** Per day of the business's timezone, every day of the period present (zeros included). */
export const statsDaily = ({ ctx, input }: { ctx: OrgContext; input: StatsPeriod }) =>
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
  });
