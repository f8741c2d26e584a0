import { notFound, type OrgContext } from "../../trpc.ts";
import type { RepliesMarkReadInput } from "./mark-read.schema.ts";

/** Any member may mark replies read (or unread again): read state belongs to the business. */
export const markRepliesRead = ({ ctx, input }: { ctx: OrgContext; input: RepliesMarkReadInput }) =>
  ctx.db(async (tx) => {
    if (input.all || !input.ids) {
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
  });
