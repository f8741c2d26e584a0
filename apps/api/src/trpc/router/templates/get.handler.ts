import { notFound, type OrgContext } from "../../trpc.ts";

export const getTemplate = ({ ctx, input }: { ctx: OrgContext; input: { id: string } }) =>
  ctx.db(async (tx) => {
    const template = await tx.selectFrom("templates").selectAll().where("id", "=", input.id).executeTakeFirst();
    if (!template) throw notFound("template");
    return template;
  });
