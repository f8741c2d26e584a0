// An optional allowlist of the networks that may call /webhooks/* (WEBHOOK_ALLOWED_CIDRS).
// Off by default: every webhook is signed (Twilio's X-Twilio-Signature, Stripe-Signature,
// Svix for Clerk) and the signature stays the check that matters; providers publish and
// change their ranges, so the list is a second fence for deployments that want one.
import { BlockList, isIP } from "node:net";
import type { MiddlewareHandler } from "hono";
import { clientAddress } from "./client-address.ts";

/** Parses "203.0.113.0/24, 2001:db8::/32"; throws on anything else, naming it. */
export function parseCidrList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const match = /^([0-9a-fA-F.:]+)\/(\d{1,3})$/.exec(cidr.trim());
    const family = match ? isIP(match[1] ?? "") : 0;
    const prefix = Number(match?.[2]);
    if (!match || family === 0 || prefix > (family === 4 ? 32 : 128)) {
      throw new Error(`"${cidr}" is not a CIDR block such as 203.0.113.0/24 or 2001:db8::/32`);
    }
    list.addSubnet(match[1] as string, prefix, family === 4 ? "ipv4" : "ipv6");
  }
  return list;
}

export function webhookAllowlist(cidrs: readonly string[]): MiddlewareHandler {
  const allowed = parseCidrList(cidrs);
  return async (c, next) => {
    const address = clientAddress(c);
    const family = address ? isIP(address) : 0;
    if (!address || family === 0 || !allowed.check(address, family === 4 ? "ipv4" : "ipv6")) {
      return c.json({ error: "this address may not call CallFlow's webhooks (WEBHOOK_ALLOWED_CIDRS)" }, 403);
    }
    await next();
  };
}
