import { notFound, type OrgContext } from "../../trpc.ts";
import { columnsOf } from "./template-fields.ts";
import type { TemplatesUpdateInput } from "./update.schema.ts";

export const updateTemplate = ({ ctx, input }: { ctx: OrgContext; input: TemplatesUpdateInput }) =>
  ctx.db(async (tx) => {
    const { id, ...fields } = input;
    const template = await tx
      .updateTable("templates")
      .set(columnsOf(fields))
      .where("id", "=", id)
      .where("archived_at", "is", null)
      .returningAll()
      .executeTakeFirst();
    if (!template) throw notFound("template");
    return template;
  });
