// What every Twilio webhook reads and writes first: the org that owns the number Twilio
// called or texted, the caller as a contact, and the receipt that makes a delivery count once.
import type { Tx } from "@callflow/db";
import { isE164, parsePhoneNumber } from "@callflow/domain";

export interface NumberOwner {
  organizationId: string;
  phoneNumberId: string;
  answeredMinSeconds: number;
  helpText: string;
  businessName: string;
}

/** The org whose number this is ("+1...", "whatsapp:+1..."), if any. */
export async function findNumberOwner(tx: Tx, number: string): Promise<NumberOwner | undefined> {
  const e164 = storedForm(number);
  if (!e164) return undefined;
  return tx
    .selectFrom("phone_numbers")
    .innerJoin("organizations", "organizations.id", "phone_numbers.organization_id")
    .select([
      "phone_numbers.organization_id as organizationId",
      "phone_numbers.id as phoneNumberId",
      "organizations.answered_min_seconds as answeredMinSeconds",
      "organizations.help_text as helpText",
      "organizations.name as businessName",
    ])
    .where("phone_numbers.e164", "=", e164)
    .executeTakeFirst();
}

/**
 * The number as phone_numbers stores it. A business's own number is matched by shape too
 * when it is outside the ranges libphonenumber knows: it is Twilio's number, not a guess.
 */
export function storedForm(number: string): string | null {
  const parsed = parsePhoneNumber(number);
  if (parsed.ok) return parsed.e164;
  const bare = number
    .trim()
    .replace(/^whatsapp:/i, "")
    .replace(/[\s().-]/g, "");
  return isE164(bare) ? bare : null;
}

/** The contact for a caller's number, created on first contact; null when it is no valid number. */
export async function upsertContact(tx: Tx, organizationId: string, from: string): Promise<string | null> {
  const parsed = parsePhoneNumber(from);
  if (!parsed.ok) return null;
  // do nothing + select rather than a no-op update: no row lock, no updated_at churn.
  const inserted = await tx
    .insertInto("contacts")
    .values({ organization_id: organizationId, e164: parsed.e164 })
    .onConflict((conflict) => conflict.columns(["organization_id", "e164"]).doNothing())
    .returning("id")
    .executeTakeFirst();
  if (inserted) return inserted.id;
  const existing = await tx
    .selectFrom("contacts")
    .select("id")
    .where("organization_id", "=", organizationId)
    .where("e164", "=", parsed.e164)
    .executeTakeFirstOrThrow();
  return existing.id;
}

export interface Receipt {
  externalId: string;
  kind: "voice.status" | "voice.incoming" | "voice.dial" | "voice.recording" | "message.status" | "message.inbound";
  organizationId: string | null;
  note?: string;
}

/**
 * Records a delivery; false when the same one was recorded before. Concurrent deliveries
 * wait on the unique index for the first one's transaction, so exactly one sees true.
 */
export async function recordReceipt(tx: Tx, receipt: Receipt): Promise<boolean> {
  const inserted = await tx
    .insertInto("webhook_receipts")
    .values({
      provider: "twilio",
      external_id: receipt.externalId,
      kind: receipt.kind,
      organization_id: receipt.organizationId,
      note: receipt.note?.slice(0, 500) ?? null,
    })
    .onConflict((conflict) => conflict.columns(["provider", "external_id"]).doNothing())
    .returning("id")
    .executeTakeFirst();
  return inserted !== undefined;
}
