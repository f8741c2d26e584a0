// Whether a caller can be reached on WhatsApp, as far as CallFlow learnt it from sends. A
// "not on WhatsApp" answer (Twilio 63003, 63024, 63033) is remembered so the next call goes
// to SMS first, but only for a while: people install WhatsApp, and a stale mark would keep
// them on SMS for good.

/** How long "not on WhatsApp" is believed after it was learnt. */
export const NOT_ON_WHATSAPP_MARK_DAYS = 30;

const MARK_MS = NOT_ON_WHATSAPP_MARK_DAYS * 86_400_000;

export type WhatsAppStatus = "unknown" | "available" | "unavailable";

/** The contact is known not to be on WhatsApp now: marked so, less than the mark's life ago. */
export function isKnownNotOnWhatsApp(
  contact: { whatsappStatus: WhatsAppStatus; whatsappCheckedAt: Date | null },
  now: Date,
): boolean {
  if (contact.whatsappStatus !== "unavailable") return false;
  // The schema dates every status change; an undated mark cannot be aged, so it is not trusted.
  if (!contact.whatsappCheckedAt) return false;
  return now.getTime() - contact.whatsappCheckedAt.getTime() < MARK_MS;
}
