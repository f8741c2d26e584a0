// Event and run ids: ULIDs, made with the `ulid` package the SDK depends on. A send the SDK
// retries carries the same `X-Inngest-Event-Id-Seed` ("<millis>,<base64 of 10 bytes>"), so
// its events get the same ids and are not run twice: the seed's bytes are the ULID's
// entropy, plus the event's index in its last four bytes (inngest/inngest pkg/event/id.go).
import { encodeRandom, encodeTime, ulid } from "ulid";

export const newUlid = (now: number): string => ulid(now);

/** The ULID for event `index` of a send with this seed; null when the seed is malformed. */
export function seededUlid(seed: string, index: number): string | null {
  const parts = seed.split(",");
  if (parts.length !== 2) return null;
  const [millisText, entropyText] = parts as [string, string];
  if (!/^\d{1,15}$/.test(millisText) || !/^[A-Za-z0-9+/]{14}==$/.test(entropyText)) return null;
  const millis = Number(millisText);
  const entropy = Buffer.from(entropyText, "base64");
  if (millis <= 0 || entropy.length !== 10) return null;
  entropy.writeUInt32BE((entropy.readUInt32BE(6) + index) >>> 0, 6);
  return encodeTime(millis, 10) + encodeRandom(16, bitsOf(entropy));
}

/**
 * A "random" source that replays the entropy's 80 bits, five at a time from the last, as
 * `encodeRandom` consumes them (it writes the string right to left): the result is the
 * Crockford base32 of those bytes, as in any other ULID implementation.
 */
function bitsOf(entropy: Buffer): () => number {
  let bits = 0n;
  for (const byte of entropy) bits = (bits << 8n) | BigInt(byte);
  return () => {
    const five = Number(bits & 31n);
    bits >>= 5n;
    return (five + 0.5) / 32;
  };
}
