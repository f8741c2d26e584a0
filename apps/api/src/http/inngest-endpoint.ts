// /api/inngest: where Inngest (Cloud, the dev server or the local executor) syncs the
// functions and runs their steps. The SDK's own handler does the protocol; this guards it:
// - where runs go is fixed (serveOrigin from PUBLIC_URL): a request's Host header never
//   decides the URL the functions are registered at;
// - a run request must carry a well-formed, fresh X-Inngest-Signature before its body is
//   read when the endpoint is signed (a signing key is set: Cloud and local mode);
// - bodies are capped at Inngest's own limit for a run's state, and a body that is not
//   JSON is a 400 with the reason, not the SDK's 500.
import type { CallflowInngest } from "@callflow/inngest";
import { Hono } from "hono";
import type { InngestFunction } from "inngest";
import { serve } from "inngest/hono";
import { z } from "zod";
import type { RateLimiter } from "../rate-limit.ts";
import { limitBodyBytes } from "./body-limit.ts";
import { clientAddress } from "./client-address.ts";

/**
 * Inngest's limit on a function run's state (event data, step results and output: "Function
 * run state cannot exceed 32MB", inngest.com/docs/usage-limits/inngest): a run request
 * carries that state, so nothing larger is a run Inngest would send.
 */
export const INNGEST_MAX_REQUEST_BYTES = 32 * 1024 * 1024;

/** The SDK refuses signatures older or newer than this (InngestCommHandler's RequestSignature). */
const SIGNATURE_MAX_AGE_MS = 5 * 60 * 1000;

export interface InngestEndpointOptions {
  client: CallflowInngest;
  functions: InngestFunction.Any[];
  /** Where Inngest reaches this API (PUBLIC_URL): the functions are registered at <origin>/api/inngest. */
  serveOrigin: string;
  /** Whether requests must be signed (a signing key is configured); false only for the Inngest dev server. */
  signed: boolean;
  maxBodyBytes?: number;
  /** PUT syncs a minute per client address. Default 10. */
  syncsPerMinute?: number;
}

/** What app.ts adds: the sync limit, counted in the database that every API process shares. */
export type InngestEndpointParts = InngestEndpointOptions & { syncLimit: RateLimiter };

export function inngestEndpoint(options: InngestEndpointParts) {
  const handler = serve({
    client: options.client,
    functions: options.functions,
    serveOrigin: options.serveOrigin,
    servePath: "/api/inngest",
  });
  const maxBodyBytes = options.maxBodyBytes ?? INNGEST_MAX_REQUEST_BYTES;
  const { syncLimit } = options;
  return (
    new Hono()
      .get("/", (c) => handler(c))
      // A sync is the SDK telling Inngest where the functions are: anyone may ask for one (as
      // Inngest allows), a few a minute per address; Inngest refusing it is a 502, not ours.
      .put(
        "/",
        limitBodyBytes(1024 * 1024, (c) => c.json({ error: "a sync body is small" }, 413)),
        async (c) => {
          const retryAfter = await syncLimit.take(clientAddress(c) ?? "unknown");
          if (retryAfter > 0) {
            c.header("retry-after", String(retryAfter));
            return c.json({ error: `too many syncs from this address: retry in ${retryAfter} s` }, 429);
          }
          // An in-band sync (Inngest Cloud's) carries a JSON body; anything else is not one.
          const body = await c.req.text();
          if (body.trim() !== "" && !isJson(body))
            return c.json({ error: "a sync's body, when there is one, is JSON" }, 400);
          // The sync is a request to Inngest: its failing (an answer or none) is upstream's.
          const response = await handler(c).catch((error: Error) => error);
          if (response instanceof Response && response.status < 500) return response;
          const reason = response instanceof Response ? await response.text() : response.message;
          return c.json({ error: `Inngest did not take the sync: ${reason.slice(0, 300)}` }, 502);
        },
      )
      .post(
        "/",
        async (c, next) => {
          if (!options.signed) return next();
          const problem = signatureProblem(c.req.header("x-inngest-signature"), Date.now());
          return problem ? c.json({ error: problem }, 401) : next();
        },
        limitBodyBytes(maxBodyBytes, (c) =>
          c.json({ error: `request body is larger than ${maxBodyBytes} bytes` }, 413),
        ),
        async (c) => {
          const body = await c.req.text();
          let parsed: unknown;
          try {
            parsed = JSON.parse(body);
          } catch {
            return c.json({ error: "the body is not JSON: Inngest sends a run as a JSON object" }, 400);
          }
          const run = runRequestSchema.safeParse(parsed);
          if (!run.success) {
            const fields = run.error.issues.map((issue) => issue.path.join(".") || "body").join(", ");
            return c.json({ error: `not an Inngest run request: check ${fields}` }, 400);
          }
          // Hono keeps the text it read: the SDK's own c.req.text() gets the same body.
          return handler(c);
        },
      )
  );
}

/**
 * The envelope of a run request (inngest/inngest docs/SDK_SPEC.md, "Executing functions"):
 * the triggering event, memoised steps and the run's context. Checked only for its shape;
 * its content is the SDK's to read. Anything else would make the SDK answer 500.
 */
const runRequestSchema = z.looseObject({
  event: z.looseObject({ name: z.string() }),
  events: z.array(z.unknown()).optional(),
  steps: z.record(z.string(), z.unknown()),
  ctx: z.looseObject({ run_id: z.string(), attempt: z.number().optional() }),
});

const isJson = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

/** Why a signature header cannot be Inngest's, judged without the body; null when it may be. */
export function signatureProblem(header: string | undefined, now: number): string | null {
  if (!header) return "missing X-Inngest-Signature header";
  const params = new URLSearchParams(header);
  const timestamp = params.get("t") ?? "";
  if (!/^\d{1,12}$/.test(timestamp) || !/^[0-9a-f]{64}$/.test(params.get("s") ?? "")) {
    return "X-Inngest-Signature is not of the form t=<seconds>&s=<hex HMAC>";
  }
  if (Math.abs(now - Number(timestamp) * 1000) > SIGNATURE_MAX_AGE_MS) return "X-Inngest-Signature has expired";
  return null;
}
