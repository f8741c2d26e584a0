import type { OrgContext } from "../../trpc.ts";
import type { TemplatesCreateInput } from "./create.schema.ts";
import { columnsOf } from "./template-fields.ts";

export const createTemplate = ({ ctx, input }: { ctx: OrgContext; input: TemplatesCreateInput }) =>
  ctx.db((tx) =>
    tx
      .insertInto("templates")
      .values({
        ...columnsOf(input),
        organization_id: ctx.orgId,
        name: input.name,
        trigger: input.trigger,
        sms_body: input.smsBody,
      })
      .returningAll()
      .executeTakeFirstOrThrow(),
  );
