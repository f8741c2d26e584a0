import { notFound, type OrgContext } from "../../trpc.ts";

/** The caller, their consent history (newest first) and their latest calls. */
export const getContact = ({ ctx, input }: { ctx: OrgContext; input: { id: string } }) =>
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
  });
