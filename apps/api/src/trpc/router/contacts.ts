import { TRPCError, type TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { cursorAt, olderThan, page, pageInput } from "../pagination.ts";
import { notFound, orgProcedure } from "../trpc.ts";

export const contactsListInput = pageInput.extend({
  optedOut: z.boolean().optional(),
  number: z
    .string()
    .trim()
    .regex(/^\+?[0-9]{3,15}$/, "number search takes 3 to 15 digits")
    .transform((value) => value.replace(/^\+/, ""))
    .optional(),
});

/** Staff change a caller's consent only with a reason; the ledger records who and why. */
export const consentChangeInput = z.object({
  id: z.uuid(),
  reason: z.string().trim().min(3, "say why, in a few words").max(500),
});

export const contactsRouter = {
  list: orgProcedure.input(contactsListInput).query(({ ctx, input }) =>
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
    }),
  ),

  get: orgProcedure.input(z.object({ id: z.uuid() })).query(({ ctx, input }) =>
    ctx.db(async (tx) => {
      const contact = await tx.selectFrom("contacts").selectAll().where("id", "=", input.id).executeTakeFirst();
      if (!contact) throw notFound("contact");
      const consent = await tx
        .selectFrom("consent_events")
        .selectAll()
        .where("contact_id", "=", contact.id)
        .orderBy("at", "desc")
        .limit(100)
        .execute();
      const calls = await tx
        .selectFrom("call_logs")
        .select(["id", "status", "outcome", "started_at"])
        .where("contact_id", "=", contact.id)
        .orderBy("started_at", "desc")
        .limit(20)
        .execute();
      return { contact, consent, calls };
    }),
  ),

  optOut: orgProcedure.input(consentChangeInput).mutation(({ ctx, input }) => recordConsent(ctx, input, "opt_out")),
  optIn: orgProcedure.input(consentChangeInput).mutation(({ ctx, input }) => recordConsent(ctx, input, "opt_in")),
} satisfies TRPCRouterRecord;

type OrgCtx = Parameters<Parameters<typeof orgProcedure.query>[0]>[0]["ctx"];

/**
 * Staff's consent change, with their reason. Who, through what and when are the server's to
 * record (the ledger's column defaults, from the verified token). A caller's own STOP is
 * theirs to undo: the policy refuses an opt-in over it, and this says why first.
 */
function recordConsent(ctx: OrgCtx, input: z.infer<typeof consentChangeInput>, action: "opt_in" | "opt_out") {
  return ctx.db(async (tx) => {
    const contact = await tx
      .selectFrom("contacts")
      .select(["id", "organization_id"])
      .where("id", "=", input.id)
      .executeTakeFirst();
    if (!contact) throw notFound("contact");
    if (action === "opt_in") {
      const latest = await tx
        .selectFrom("consent_events")
        .select(["action", "source"])
        .where("contact_id", "=", contact.id)
        .orderBy("at", "desc")
        .orderBy("id", "desc")
        .limit(1)
        .executeTakeFirst();
      if (latest?.action === "opt_out" && latest.source === "inbound_keyword") {
        throw new TRPCError({
          code: "FORBIDDEN",
          message: "the caller opted out by texting STOP: only they can opt back in, by texting START",
        });
      }
    }
    await tx
      .insertInto("consent_events")
      .values({
        organization_id: contact.organization_id,
        contact_id: contact.id,
        action,
        evidence: JSON.stringify({ reason: input.reason }),
      })
      .execute();
    return tx.selectFrom("contacts").selectAll().where("id", "=", contact.id).executeTakeFirstOrThrow();
  });
}
