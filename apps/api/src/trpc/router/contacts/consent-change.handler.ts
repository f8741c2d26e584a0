import { TRPCError } from "@trpc/server";
import { notFound, type OrgContext } from "../../trpc.ts";
import type { ConsentChangeInput } from "./consent-change.schema.ts";

/**
 * Staff's consent change, with their reason. Who, through what and when are the server's to
 * record (the ledger's column defaults, from the verified token). A caller's own STOP is
 * theirs to undo: the policy refuses an opt-in over it, and this says why first.
 */
export function recordConsent(ctx: OrgContext, input: ConsentChangeInput, action: "opt_in" | "opt_out") {
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
