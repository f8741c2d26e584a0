import { notFound, type OrgContext } from "../../trpc.ts";

/** The replies a call received: the caller's messages after it and before their next call. */
export const repliesForCall = ({ ctx, input }: { ctx: OrgContext; input: { id: string } }) =>
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
  });
