import { e164Schema } from "@callflow/domain";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { rethrowConstraint, uuidInput } from "../pagination.ts";
import { adminProcedure, notFound, orgProcedure } from "../trpc.ts";

export const phoneNumbersAddInput = z.object({
  e164: e164Schema,
  label: z.string().trim().max(100).default(""),
});

// Numbers are unique across all businesses: say so without saying whose it is.
const CONFLICTS = { phone_numbers_e164_key: "this number is already registered with CallFlow" };

export const phoneNumbersRouter = {
  list: orgProcedure.query(({ ctx }) =>
    ctx.db((tx) =>
      tx.selectFrom("phone_numbers").selectAll().orderBy("created_at").orderBy("e164").limit(100).execute(),
    ),
  ),

  add: adminProcedure.input(phoneNumbersAddInput).mutation(({ ctx, input }) =>
    ctx.db((tx) =>
      tx
        .insertInto("phone_numbers")
        .values({ organization_id: ctx.orgId, e164: input.e164, label: input.label })
        .returningAll()
        .executeTakeFirstOrThrow()
        .catch((error) => rethrowConstraint(error, CONFLICTS)),
    ),
  ),

  remove: adminProcedure.input(uuidInput).mutation(({ ctx, input }) =>
    ctx.db(async (tx) => {
      const removed = await tx
        .deleteFrom("phone_numbers")
        .where("id", "=", input.id)
        .returning("id")
        .executeTakeFirst();
      if (!removed) throw notFound("phone number");
      return removed;
    }),
  ),
} satisfies TRPCRouterRecord;
