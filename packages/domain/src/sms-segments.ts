export type SmsEncoding = "GSM-7" | "UCS-2";

export type SmsSegments = {
  encoding: SmsEncoding;
  /**
   * Length in the units the limits count: septets for GSM-7 (a character from the
   * extension table takes two), UTF-16 code units for UCS-2 (an emoji usually takes two).
   */
  characters: number;
  segments: number;
  /** The limit per segment that applies: 160 / 70 for one segment, 153 / 67 once split. */
  perSegment: number;
};

// 3GPP TS 23.038 §6.2.1, the GSM 7-bit default alphabet, in code order 0x00–0x7F.
// 0x1B is the escape to the extension table and stands for no character itself.
const GSM_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

// §6.2.1.1, the default extension table: each is sent as ESC + code, two septets.
const GSM_EXTENSION = "\f^{}\\[~]|€";

const basic = new Set([...GSM_BASIC].filter((c) => c !== "\u001b"));
const extension = new Set(GSM_EXTENSION);

const LIMITS = {
  "GSM-7": { single: 160, multipart: 153 },
  "UCS-2": { single: 70, multipart: 67 },
} as const;

/**
 * How many SMS segments a body is billed as. GSM-7 when every character is in the default
 * alphabet or its extension table, UCS-2 otherwise. National language shift tables (which
 * would put á, í, ó, ú into GSM-7 for Spanish) are not counted: senders do not use them.
 * A split never separates an escape sequence or a surrogate pair, as handsets would
 * otherwise show garbage at the boundary, so a segment may hold one unit less than its limit.
 */
export function countSmsSegments(body: string): SmsSegments {
  const chars = [...body];
  const encoding: SmsEncoding = chars.every((c) => basic.has(c) || extension.has(c)) ? "GSM-7" : "UCS-2";
  // A code point's width: septets in GSM-7, UTF-16 code units in UCS-2.
  const widths = chars.map((c) => (encoding === "GSM-7" ? (extension.has(c) ? 2 : 1) : c.length));
  const characters = widths.reduce((sum, w) => sum + w, 0);
  const limits = LIMITS[encoding];

  if (characters === 0) return { encoding, characters, segments: 0, perSegment: limits.single };
  if (characters <= limits.single) return { encoding, characters, segments: 1, perSegment: limits.single };

  let segments = 1;
  let used = 0;
  for (const width of widths) {
    if (used + width > limits.multipart) {
      segments += 1;
      used = 0;
    }
    used += width;
  }
  return { encoding, characters, segments, perSegment: limits.multipart };
}
