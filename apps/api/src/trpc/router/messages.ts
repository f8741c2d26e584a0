import { messageStatusSchema } from "@callflow/domain";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { cursorAt, olderThan, page, pageInput, uuidInput } from "../pagination.ts";
import { notFound, orgProcedure } from "../trpc.ts";

export const messagesListInput = pageInput.extend({
  channel: z.enum(["whatsapp", "sms"]).optional(),
  status: messageStatusSchema.optional(),
});

export const messagesRouter = {
  list: orgProcedure.input(messagesListInput).query(({ ctx, input }) =>
    ctx.db(async (tx) => {
      let query = tx
        .selectFrom("messages")
        .select([
          "id",
          "job_id",
          "channel",
          "to_number",
          "status",
          "error_code",
          "error_message",
          "created_at",
          "sent_at",
        ])
        .select(cursorAt("created_at"))
        .orderBy("created_at", "desc")
        .orderBy("id", "desc")
        .limit(input.limit + 1);
      if (input.cursor) query = query.where(olderThan("created_at", input.cursor));
      if (input.channel) query = query.where("channel", "=", input.channel);
      if (input.status) query = query.where("status", "=", input.status);
      return page(await query.execute(), input.limit);
    }),
  ),

  get: orgProcedure.input(uuidInput).query(({ ctx, input }) =>
    ctx.db(async (tx) => {
      const message = await tx.selectFrom("messages").selectAll().where("id", "=", input.id).executeTakeFirst();
      if (!message) throw notFound("message");
      const events = await tx
        .selectFrom("message_events")
        .select(["id", "status", "error_code", "received_at"])
        .where("message_id", "=", message.id)
        .orderBy("received_at")
        .execute();
      return { message, events };
    }),
  ),
} satisfies TRPCRouterRecord;
