// Inngest's signing-key scheme (docs/SDK_SPEC.md 4.1.3 and 4.1.4): requests to the app carry
// `X-Inngest-Signature: t=<seconds>&s=<hex HMAC-SHA256 of body + t>` keyed with the key's
// secret; requests from the SDK carry `Authorization: Bearer <prefix + sha256 of the secret>`.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export const SIGNING_KEY_PATTERN = /^signkey-\w+-(?:[0-9a-fA-F]{2})+$/;

export interface Signer {
  /** The `X-Inngest-Signature` value for a body. */
  sign(body: string): string;
  /** Whether an `Authorization` header carries this key's bearer, compared in constant time. */
  authorizes(authorization: string | undefined): boolean;
}

export function createSigner(signingKey: string): Signer {
  const prefix = /^signkey-\w+-/.exec(signingKey)?.[0] ?? "";
  const secret = signingKey.slice(prefix.length);
  const bearer = Buffer.from(
    `Bearer ${prefix}${createHash("sha256").update(Buffer.from(secret, "hex")).digest("hex")}`,
  );
  return {
    sign(body) {
      const at = Math.floor(Date.now() / 1000);
      return `t=${at}&s=${createHmac("sha256", secret)
        .update(body + at)
        .digest("hex")}`;
    },
    authorizes(authorization) {
      if (!authorization) return false;
      const given = Buffer.from(authorization);
      return given.length === bearer.length && timingSafeEqual(given, bearer);
    },
  };
}

/** Constant-time comparison of a given secret (an event key) with the expected one. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}
