// GET /dev/traces?call=<CallSid>: a call's traces from the local view (recent-spans.ts), for
// `npm run -s trace`; without `call`, the latest traced call's. Local mode only, and only to
// this machine, like /dev/sign-in.
import { Hono } from "hono";
import { z } from "zod";
import { clientAddress, fromThisMachine } from "../http/client-address.ts";
import type { RecentSpans } from "./recent-spans.ts";

/** Twilio's CallSid: CA and 32 hex digits. */
export const callSidSchema = z.string().regex(/^CA[0-9a-fA-F]{32}$/, "call must be a CallSid: CA and 32 hex digits");

export function traceEndpoint(recent: RecentSpans) {
  return new Hono().get("/", (c) => {
    if (!fromThisMachine(clientAddress(c))) {
      return c.json({ error: "traces are served to this machine only" }, 403);
    }
    const asked = c.req.query("call");
    if (asked === undefined) {
      const latest = recent.latestCall();
      if (!latest) return c.json({ error: "no call has been traced since CallFlow started" }, 404);
      return c.json({ callSid: latest, traces: recent.tracesOfCall(latest) });
    }
    const call = callSidSchema.safeParse(asked);
    if (!call.success) return c.json({ error: call.error.issues[0]?.message ?? "call must be a CallSid" }, 400);
    return c.json({ callSid: call.data, traces: recent.tracesOfCall(call.data) });
  });
}
