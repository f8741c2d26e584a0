// Callers' replies (inbound_messages that were not STOP/START/HELP), for staff to read and
// answer. Each reply is linked to the caller's latest call before it: the call it answers.
import type { Tx } from "@callflow/db";
import type { TRPCRouterRecord } from "@trpc/server";
import { sql } from "kysely";
import { z } from "zod";
import { cursorAt, page, pageInput, uuidInput } from "../pagination.ts";
import { notFound, orgProcedure } from "../trpc.ts";

export const repliesListInput = pageInput.extend({
  unreadOnly: z.boolean().default(false),
});

export const repliesMarkReadInput = z.union([
  z.object({ ids: z.array(z.uuid()).min(1).max(100), read: z.boolean().default(true) }),
  z.object({ all: z.literal(true) }),
]);

/** Replies with the call each one answers and the caller's contact, newest first. */
function repliesQuery(tx: Tx) {
  return tx
    .selectFrom("inbound_messages as reply")
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom("call_logs")
          .select(["call_logs.id as call_id", "call_logs.started_at as call_started_at", "call_logs.outcome"])
          .whereRef("call_logs.contact_id", "=", "reply.contact_id")
          .whereRef("call_logs.started_at", "<=", "reply.received_at")
          .orderBy("call_logs.started_at", "desc")
          .limit(1)
          .as("call"),
      (join) => join.onTrue(),
    )
    .leftJoin("contacts", "contacts.id", "reply.contact_id")
    .select([
      "reply.id",
      "reply.channel",
      "reply.from_number",
      "reply.body",
      "reply.received_at",
      "reply.read_at",
      "reply.contact_id",
      "contacts.name as contact_name",
      "call.call_id",
      "call.call_started_at",
      "call.outcome as call_outcome",
    ]);
}

export const repliesRouter = {
  list: orgProcedure.input(repliesListInput).query(({ ctx, input }) =>
    ctx.db(async (tx) => {
      let query = repliesQuery(tx)
        .select(cursorAt("reply.received_at"))
        .orderBy("reply.received_at", "desc")
        .orderBy("reply.id", "desc")
        .limit(input.limit + 1);
      // The keyset comparison names the reply's own id: contacts and calls have ids too.
      if (input.cursor) {
        const { at, id } = input.cursor;
        query = query.where(sql<boolean>`(reply.received_at, reply.id) < (${at}::timestamptz, ${id}::uuid)`);
      }
      if (input.unreadOnly) query = query.where("reply.read_at", "is", null);
      return page(await query.execute(), input.limit);
    }),
  ),

  /** The replies a call received: the caller's messages after it and before their next call. */
  forCall: orgProcedure.input(uuidInput).query(({ ctx, input }) =>
    ctx.db(async (tx) => {
      const call = await tx.selectFrom("call_logs").select("id").where("id", "=", input.id).executeTakeFirst();
      if (!call) throw notFound("call");
      // Compared in the database: a JS Date would drop the microseconds and misorder calls.
      return tx
        .selectFrom("inbound_messages as reply")
        .innerJoin("call_logs as call", "call.contact_id", "reply.contact_id")
        .select(["reply.id", "reply.channel", "reply.body", "reply.received_at", "reply.read_at"])
        .where("call.id", "=", call.id)
        .whereRef("reply.received_at", ">=", "call.started_at")
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom("call_logs as later")
                .select("later.id")
                .whereRef("later.contact_id", "=", "call.contact_id")
                .whereRef("later.started_at", ">", "call.started_at")
                .whereRef("later.started_at", "<=", "reply.received_at"),
            ),
          ),
        )
        .orderBy("reply.received_at")
        .limit(100)
        .execute();
    }),
  ),

  unreadCount: orgProcedure.query(({ ctx }) =>
    ctx.db(async (tx) => {
      const row = await tx
        .selectFrom("inbound_messages")
        .select(sql<number>`count(*)::int`.as("unread"))
        .where("read_at", "is", null)
        .executeTakeFirstOrThrow();
      return row.unread;
    }),
  ),

  /** Any member may mark replies read (or unread again): read state belongs to the business. */
  markRead: orgProcedure.input(repliesMarkReadInput).mutation(({ ctx, input }) =>
    ctx.db(async (tx) => {
      if ("all" in input) {
        const result = await tx
          .updateTable("inbound_messages")
          .set({ read_at: new Date() })
          .where("read_at", "is", null)
          .executeTakeFirst();
        return { updated: Number(result.numUpdatedRows) };
      }
      const result = await tx
        .updateTable("inbound_messages")
        .set({ read_at: input.read ? new Date() : null })
        .where("id", "in", input.ids)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) throw notFound("reply");
      return { updated: Number(result.numUpdatedRows) };
    }),
  ),
} satisfies TRPCRouterRecord;
