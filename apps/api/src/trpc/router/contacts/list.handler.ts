import { cursorAt, olderThan, page } from "../../pagination.ts";
import type { OrgContext } from "../../trpc.ts";
import type { ContactsListInput } from "./list.schema.ts";

export const listContacts = ({ ctx, input }: { ctx: OrgContext; input: ContactsListInput }) =>
  ctx.db(async (tx) => {
    let query = tx
      .selectFrom("contacts")
      .selectAll()
      .select(cursorAt("created_at"))
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(input.limit + 1);
    if (input.cursor) query = query.where(olderThan("created_at", input.cursor));
    if (input.optedOut !== undefined) query = query.where("opted_out_at", input.optedOut ? "is not" : "is", null);
    if (input.number) query = query.where("e164", "like", `%${input.number}%`);
    return page(await query.execute(), input.limit);
  });
