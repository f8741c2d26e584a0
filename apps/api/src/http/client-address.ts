// The address a request came from: the TCP peer as the Node server saw it, never a header a
// client can write (X-Forwarded-For). Behind a load balancer that is the balancer: limits
// and allowlists by address then belong on the balancer (README, Security).
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";

export function clientAddress(c: Context): string | null {
  try {
    const address = getConnInfo(c).remote.address;
    return address ? address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "") : null;
  } catch {
    // Not served by @hono/node-server (app.request in tests): no peer to speak of.
    return null;
  }
}

/**
 * Whether a request comes from the machine CallFlow runs on: a loopback peer, or no TCP peer at
 * all (a request handed to the app in process, as tests do).
 */
export const fromThisMachine = (address: string | null) =>
  address === null || address === "::1" || /^127\.\d+\.\d+\.\d+$/.test(address);
