import { describeTwilioError } from "@callflow/providers";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { instantInput } from "../instant-input.ts";
import { numberSearchInput } from "../number-search.ts";
import { cursorAt, olderThan, page, pageInput, uuidInput } from "../pagination.ts";
import { notFound, orgProcedure } from "../trpc.ts";

export const callsListInput = pageInput.extend({
  outcome: z.enum(["missed", "answered", "voicemail"]).optional(),
  from: instantInput.optional(),
  to: instantInput.optional(),
  /** Digits anywhere in the caller's number. */
  number: numberSearchInput.optional(),
});

export const callsRouter = {
  list: orgProcedure.input(callsListInput).query(({ ctx, input }) =>
    ctx.db(async (tx) => {
      let query = tx
        .selectFrom("call_logs")
        .select([
          "id",
          "call_sid",
          "from_number",
          "to_number",
          "status",
          "outcome",
          "duration_seconds",
          "started_at",
          "ended_at",
        ])
        .select(cursorAt("started_at"))
        .orderBy("started_at", "desc")
        .orderBy("id", "desc")
        .limit(input.limit + 1);
      if (input.cursor) query = query.where(olderThan("started_at", input.cursor));
      if (input.outcome) query = query.where("outcome", "=", input.outcome);
      if (input.from) query = query.where("started_at", ">=", input.from);
      if (input.to) query = query.where("started_at", "<", input.to);
      if (input.number) query = query.where("from_number", "like", `%${input.number}%`);
      return page(await query.execute(), input.limit);
    }),
  ),

  /**
   * The call, what CallFlow decided for it, and every message with its status history;
   * each error code comes with what it means, in words.
   */
  get: orgProcedure.input(uuidInput).query(({ ctx, input }) =>
    ctx.db(async (tx) => {
      const call = await tx.selectFrom("call_logs").selectAll().where("id", "=", input.id).executeTakeFirst();
      if (!call) throw notFound("call");
      const job =
        (await tx.selectFrom("message_jobs").selectAll().where("call_log_id", "=", call.id).executeTakeFirst()) ?? null;
      const messages = job
        ? await tx.selectFrom("messages").selectAll().where("job_id", "=", job.id).orderBy("created_at").execute()
        : [];
      const events = messages.length
        ? await tx
            .selectFrom("message_events")
            .select(["message_id", "status", "error_code", "received_at"])
            .where(
              "message_id",
              "in",
              messages.map((message) => message.id),
            )
            .orderBy("received_at")
            .execute()
        : [];
      return {
        call,
        job,
        messages: messages.map((message) => ({
          ...message,
          error_description: explainError(message.error_code),
          events: events
            .filter((event) => event.message_id === message.id)
            .map((event) => ({ ...event, error_description: explainError(event.error_code) })),
        })),
      };
    }),
  ),
} satisfies TRPCRouterRecord;

const explainError = (code: number | null) => (code == null ? null : describeTwilioError(code));
