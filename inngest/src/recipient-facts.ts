// What a provider's failure says about the recipient, kept where the next decision reads it,
// whenever it arrives (a refused send or a status callback): "not on WhatsApp" (63003, 63024,
// 63033) marks the contact, dated, so the next call goes to SMS first until the mark expires;
// an unsubscribe (21610) is the caller's opt-out, recorded in the consent ledger like STOP.
// One statement, app.record_recipient_fact, which app.record_message_status calls too.
import { serviceFunctionCall, type Tx } from "@callflow/db";
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
  const { rows } = await tx.executeQuery<{ record_recipient_fact: "not_on_whatsapp" | "opted_out" | null }>(
    serviceFunctionCall("app.record_recipient_fact", [
      failure.organizationId,
      failure.contactId,
      failure.jobId,
      failure.messageId,
      failure.channel,
      failure.code,
      failure.kind,
      failure.at,
    ]),
  );
  return rows[0]?.record_recipient_fact ?? null;
}
