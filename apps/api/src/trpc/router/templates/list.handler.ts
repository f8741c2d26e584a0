import { cursorAt, olderThan, page } from "../../pagination.ts";
import type { OrgContext } from "../../trpc.ts";
import type { TemplatesListInput } from "./list.schema.ts";

export const listTemplates = ({ ctx, input }: { ctx: OrgContext; input: TemplatesListInput }) =>
  ctx.db(async (tx) => {
    let query = tx
      .selectFrom("templates")
      .selectAll()
      .select(cursorAt("created_at"))
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(input.limit + 1);
    if (input.cursor) query = query.where(olderThan("created_at", input.cursor));
    if (input.trigger) query = query.where("trigger", "=", input.trigger);
    if (!input.includeArchived) query = query.where("archived_at", "is", null);
    return page(await query.execute(), input.limit);
  });
