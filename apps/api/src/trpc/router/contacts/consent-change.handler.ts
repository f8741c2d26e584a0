import { callerOwnedOptOutSources, staffOptInRefusalOf } from "@callflow/domain";
import { TRPCError } from "@trpc/server";
import { notFound, type OrgContext } from "../../trpc.ts";
import type { ConsentChangeInput } from "./consent-change.schema.ts";

/**
 * Staff's consent change, with their reason. Who, through what and when are the server's to
 * record (the ledger's column defaults, from the verified token). A caller's own opt-out (a
 * STOP they texted, or the carrier's 21610 after they texted it to the sender) is theirs to
 * undo: the database refuses an opt-in over it, and this says why first.
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
      // The caller's latest own word: their opt-out (STOP, the carrier's 21610) or their START.
      const latest = await tx
        .selectFrom("consent_events")
        .select(["action", "source"])
        .where("contact_id", "=", contact.id)
        .where((eb) =>
          eb.or([
            eb.and([eb("action", "=", "opt_out"), eb("source", "in", callerOwnedOptOutSources)]),
            eb.and([eb("action", "=", "opt_in"), eb("source", "=", "inbound_keyword")]),
          ]),
        )
        .orderBy("at", "desc")
        .orderBy("id", "desc")
        .limit(1)
        .executeTakeFirst();
      const refusal = staffOptInRefusalOf(latest ?? null);
      if (refusal) throw new TRPCError({ code: "FORBIDDEN", message: refusal });
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
