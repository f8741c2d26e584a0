// How fast a sender may send. Carriers and WhatsApp cap messages per second per sender
// (Twilio queues what goes faster, and fails it once queued too long), so delivery keeps to
// the cap itself: WhatsApp about 80 a second per sender; SMS by the kind of number, a long
// code (an ordinary 10-digit number) 1 a second, toll-free about 3, a short code 100.
//
// Inngest's throttle has one limit per function, and senders differ in pace. So the
// throttle's key is a lane: one message a second per lane, and a sender allowed N a second
// has N lanes; a send takes the lane its job id hashes to. A sender can never exceed its N;
// under a burst the lanes fill unevenly, so the pace reached is somewhat below it.
import { z } from "zod";

export const senderKinds = ["whatsapp", "long_code", "toll_free", "short_code"] as const;

export type SenderKind = (typeof senderKinds)[number];

/** Messages a second per sender, by kind: whole numbers, each a lane of one message a second. */
export type SenderRates = Record<SenderKind, number>;

export const defaultSenderRates: SenderRates = { whatsapp: 80, long_code: 1, toll_free: 3, short_code: 100 };

/** One lane's pace, the throttle every send passes (deliver-message's `throttle`). */
export const LANE = { limit: 1, period: "1s" } as const;

export const senderRatesSchema = z
  .object(
    Object.fromEntries(
      senderKinds.map((kind) => [
        kind,
        z.number().int(`${kind} is a whole number of messages a second`).min(1).max(1000).optional(),
      ]),
    ) as Record<SenderKind, z.ZodOptional<z.ZodNumber>>,
  )
  .strict();

/** North American toll-free area codes. */
const TOLL_FREE = /^\+18(00|33|44|55|66|77|88)\d{7}$/;
/** Short codes are 5 or 6 digits, not E.164. */
const SHORT_CODE = /^\d{5,6}$/;

export function senderKindOf(channel: "whatsapp" | "sms", from: string): SenderKind {
  if (channel === "whatsapp") return "whatsapp";
  const number = from.replace(/^whatsapp:/, "");
  if (SHORT_CODE.test(number)) return "short_code";
  if (TOLL_FREE.test(number)) return "toll_free";
  return "long_code";
}

/** FNV-1a, 32 bits: the same lane for the same job on every process and retry. */
function hash(text: string): number {
  let value = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    value ^= text.charCodeAt(i);
    value = Math.imul(value, 0x01000193) >>> 0;
  }
  return value;
}

/** The throttle key of one send: its sender and one of the sender's lanes. */
export function deliveryThrottleKey(
  send: { channel: "whatsapp" | "sms"; from: string; jobId: string },
  rates: Partial<SenderRates> = {},
): string {
  const kind = senderKindOf(send.channel, send.from);
  const lanes = rates[kind] ?? defaultSenderRates[kind];
  return `${kind}:${send.from.replace(/^whatsapp:/, "")}:${hash(send.jobId) % lanes}`;
}
