import { sql } from "kysely";
import { cursorAt, page } from "../../pagination.ts";
import type { OrgContext } from "../../trpc.ts";
import type { RepliesListInput } from "./list.schema.ts";
import { repliesQuery } from "./replies-query.ts";

export const listReplies = ({ ctx, input }: { ctx: OrgContext; input: RepliesListInput }) =>
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
  });
