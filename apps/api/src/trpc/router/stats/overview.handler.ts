import { sql } from "kysely";
import type { OrgContext } from "../../trpc.ts";
import type { StatsPeriod } from "./period.schema.ts";

const ratio = (part: number, whole: number) => (whole === 0 ? null : Math.round((part / whole) * 1000) / 1000);

/**
 * Calls, messages by channel and status, jobs by where they are, delivery and fallback rates
 * over a period (jobs by when they were decided).
 *
 * deliveryRate: of the jobs whose delivery ended, delivered or failed, the share delivered.
 * Jobs on their way (pending, scheduled, sending), skipped when decided, or canceled by an
 * opt-out before they were sent are in neither part. Every delivered job is in the whole, so
 * the rate is at most 1; null while no delivery has ended in the period.
 * fallbackRate: of the delivered jobs, the share delivered by SMS after WhatsApp was tried.
 */
export const statsOverview = ({ ctx, input }: { ctx: OrgContext; input: StatsPeriod }) =>
  ctx.db(async (tx) => {
    const calls = await tx
      .selectFrom("call_logs")
      .select(["outcome", sql<number>`count(*)::int`.as("count")])
      .where("started_at", ">=", input.from)
      .where("started_at", "<", input.to)
      .groupBy("outcome")
      .execute();
    const messages = await tx
      .selectFrom("messages")
      .select(["channel", "status", sql<number>`count(*)::int`.as("count")])
      .where("created_at", ">=", input.from)
      .where("created_at", "<", input.to)
      .groupBy(["channel", "status"])
      .execute();
    const jobs = await tx
      .selectFrom("message_jobs")
      .select([
        sql<number>`count(*) filter (where decision <> 'skip')::int`.as("toSend"),
        sql<number>`count(*) filter (where status in ('pending', 'scheduled', 'sending'))::int`.as("inProgress"),
        sql<number>`count(*) filter (where status = 'delivered')::int`.as("delivered"),
        sql<number>`count(*) filter (where status = 'failed')::int`.as("failed"),
        sql<number>`count(*) filter (where status = 'canceled')::int`.as("canceled"),
        sql<number>`count(*) filter (where status = 'delivered' and final_channel = 'sms' and 'whatsapp' = any(channels))::int`.as(
          "fellBack",
        ),
        sql<number>`count(*) filter (where status = 'skipped')::int`.as("skipped"),
      ])
      .where("created_at", ">=", input.from)
      .where("created_at", "<", input.to)
      .executeTakeFirstOrThrow();
    const byOutcome = Object.fromEntries(calls.map((row) => [row.outcome ?? "in_progress", row.count]));
    return {
      period: input,
      calls: { total: calls.reduce((sum, row) => sum + row.count, 0), byOutcome },
      messages,
      jobs,
      deliveryRate: ratio(jobs.delivered, jobs.delivered + jobs.failed),
      fallbackRate: ratio(jobs.fellBack, jobs.delivered),
    };
  });
