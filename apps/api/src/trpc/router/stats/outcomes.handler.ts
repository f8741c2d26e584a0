import { sql } from "kysely";
import type { OrgContext } from "../../trpc.ts";
import type { StatsPeriod } from "./period.schema.ts";

/** Where every call's message ended (WhatsApp, SMS fallback, failed, skipped and why, canceled by an opt-out) over a period. */
export const statsOutcomes = ({ ctx, input }: { ctx: OrgContext; input: StatsPeriod }) =>
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
        sql<number>`count(*) filter (where status = 'canceled')::int`.as("canceled"),
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
  });
