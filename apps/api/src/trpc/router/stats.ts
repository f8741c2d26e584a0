import type { TRPCRouterRecord } from "@trpc/server";
import { sql } from "kysely";
import { z } from "zod";
import { instantInput } from "../instant-input.ts";
import { orgProcedure } from "../trpc.ts";

const DAY = 86_400_000;

export const statsOverviewInput = z
  .object({
    from: instantInput.optional(),
    to: instantInput.optional(),
  })
  .default({})
  .transform(({ from, to }) => {
    const end = to ?? new Date();
    return { from: from ?? new Date(end.getTime() - 30 * DAY), to: end };
  })
  .refine(({ from, to }) => from < to, { message: "from must be before to", path: ["from"] })
  .refine(({ from, to }) => to.getTime() - from.getTime() <= 366 * DAY, {
    message: "the period is at most 366 days",
    path: ["to"],
  });

const ratio = (part: number, whole: number) => (whole === 0 ? null : Math.round((part / whole) * 1000) / 1000);

export const statsRouter = {
  /** Calls, messages by channel and status, delivery and fallback rates over a period. */
  overview: orgProcedure.input(statsOverviewInput).query(({ ctx, input }) =>
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
          sql<number>`count(*) filter (where decision = 'send')::int`.as("sent"),
          sql<number>`count(*) filter (where status = 'delivered')::int`.as("delivered"),
          sql<number>`count(*) filter (where status = 'delivered' and final_channel = 'sms' and 'whatsapp' = any(channels))::int`.as(
            "fellBack",
          ),
          sql<number>`count(*) filter (where decision = 'skip')::int`.as("skipped"),
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
        deliveryRate: ratio(jobs.delivered, jobs.sent),
        fallbackRate: ratio(jobs.fellBack, jobs.delivered),
      };
    }),
  ),
} satisfies TRPCRouterRecord;
