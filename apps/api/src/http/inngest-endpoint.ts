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
import { bodyLimit } from "hono/body-limit";
import type { InngestFunction } from "inngest";
import { serve } from "inngest/hono";

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
}

export function inngestEndpoint(options: InngestEndpointOptions) {
  const handler = serve({
    client: options.client,
    functions: options.functions,
    serveOrigin: options.serveOrigin,
    servePath: "/api/inngest",
  });
  const maxBodyBytes = options.maxBodyBytes ?? INNGEST_MAX_REQUEST_BYTES;
  return new Hono()
    .get("/", (c) => handler(c))
    .put("/", (c) => handler(c))
    .post(
      "/",
      async (c, next) => {
        if (!options.signed) return next();
        const problem = signatureProblem(c.req.header("x-inngest-signature"), Date.now());
        return problem ? c.json({ error: problem }, 401) : next();
      },
      bodyLimit({
        maxSize: maxBodyBytes,
        onError: (c) => c.json({ error: `request body is larger than ${maxBodyBytes} bytes` }, 413),
      }),
      async (c) => {
        const body = await c.req.text();
        try {
          JSON.parse(body);
        } catch {
          return c.json({ error: "the body is not JSON: Inngest sends a run as a JSON object" }, 400);
        }
        // Hono keeps the text it read: the SDK's own c.req.text() gets the same body.
        return handler(c);
      },
    );
}

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
