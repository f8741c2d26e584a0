import { sql } from "kysely";
import type { OrgContext } from "../../trpc.ts";

export const unreadReplies = ({ ctx }: { ctx: OrgContext }) =>
  ctx.db(async (tx) => {
    const row = await tx
      .selectFrom("inbound_messages")
      .select(sql<number>`count(*)::int`.as("unread"))
      .where("read_at", "is", null)
      .executeTakeFirstOrThrow();
    return row.unread;
  });
