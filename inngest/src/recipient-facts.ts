// What a provider's failure says about the recipient, kept where the next decision reads it,
// whenever it arrives (a refused send or a status callback): "not on WhatsApp" (63003, 63024,
// 63033) marks the contact, dated, so the next call goes to SMS first until the mark expires;
// an unsubscribe (21610) is the caller's opt-out, recorded in the consent ledger like STOP.
import type { Tx } from "@callflow/db";
import type { ProviderErrorKind } from "@callflow/providers";

export interface ProviderFailure {
  organizationId: string;
  contactId: string | null;
  jobId: string;
  messageId: string;
  channel: "whatsapp" | "sms";
  /** Twilio's error code, from the refusal or the callback's ErrorCode. */
  code: number | null;
  /** What the code means (packages/providers twilio-errors.ts). */
  kind: ProviderErrorKind;
  at: Date;
}

/** Records what the failure teaches; says what that was. */
export async function recordRecipientFact(
  tx: Tx,
  failure: ProviderFailure,
): Promise<"not_on_whatsapp" | "opted_out" | null> {
  const { kind } = failure;
  if (failure.code === null || failure.contactId === null) return null;
  if (kind === "not_on_whatsapp" && failure.channel === "whatsapp") {
    await tx
      .updateTable("contacts")
      .set({ whatsapp_status: "unavailable", whatsapp_checked_at: failure.at })
      .where("organization_id", "=", failure.organizationId)
      .where("id", "=", failure.contactId)
      .execute();
    return "not_on_whatsapp";
  }
  if (kind === "recipient_opted_out") {
    // Once in the ledger per opt-out: a second refusal while opted out adds nothing.
    const contact = await tx
      .selectFrom("contacts")
      .select("opted_out_at")
      .where("organization_id", "=", failure.organizationId)
      .where("id", "=", failure.contactId)
      .forUpdate()
      .executeTakeFirst();
    if (contact && contact.opted_out_at === null) {
      await tx
        .insertInto("consent_events")
        .values({
          organization_id: failure.organizationId,
          contact_id: failure.contactId,
          channel: failure.channel,
          action: "opt_out",
          source: "carrier",
          actor: `twilio_${failure.code}`,
          evidence: JSON.stringify({ error_code: failure.code, message_id: failure.messageId, job_id: failure.jobId }),
        })
        .execute();
    }
    return "opted_out";
  }
  return null;
}
