import { notFound, type OrgContext } from "../../trpc.ts";

/** Archived templates are never chosen again but stay for the history of past jobs. */
export const archiveTemplate = ({ ctx, input }: { ctx: OrgContext; input: { id: string } }) =>
  ctx.db(async (tx) => {
    const template = await tx
      .updateTable("templates")
      .set({ archived_at: new Date(), active: false })
      .where("id", "=", input.id)
      .where("archived_at", "is", null)
      .returningAll()
      .executeTakeFirst();
    if (!template) throw notFound("template");
    return template;
  });
