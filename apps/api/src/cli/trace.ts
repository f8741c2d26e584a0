// npm run -s trace [-- --call <CallSid>] [--api <url>]
// Prints a call's traces (the latest call's without --call) as trees, from the running
// product's local view of its spans (GET /dev/traces): the webhook, the function runs and
// their steps, the Twilio requests. Local mode; with OTLP configured, use your tracing backend.
import { z } from "zod";
import { loadConfig } from "../config.ts";
import type { RecordedSpan } from "../tracing/recent-spans.ts";
import { callSidSchema } from "../tracing/trace-endpoint.ts";
import { renderTrace } from "../tracing/trace-tree.ts";
import { readCliArgs } from "./cli-args.ts";

const usage = "usage: npm run -s trace -- [--call <CallSid>] [--api http://localhost:3000]";
const argsSchema = z.object({
  call: callSidSchema.optional(),
  api: z.string().url("--api must be the API's URL, such as http://localhost:3000").optional(),
});
const args = readCliArgs("trace", usage, argsSchema, ["call", "api"]);
const config = loadConfig();
const apiUrl = (args.api ?? `http://localhost:${config.port}`).replace(/\/$/, "");

const fail = (message: string): never => {
  console.error(`trace: ${message}`);
  process.exit(1);
};
const query = args.call ? `?call=${args.call}` : "";
const response = await fetch(`${apiUrl}/dev/traces${query}`).catch(() =>
  fail(`the API does not answer at ${apiUrl}: start it with npm start`),
);
const body = (await response.json().catch(() => ({}))) as {
  error?: string;
  callSid?: string;
  traces?: Array<{ traceId: string; spans: RecordedSpan[] }>;
};
if (response.status === 404 && body.error?.startsWith("no route")) {
  fail("this CallFlow keeps no local view of traces (it runs with DATABASE_URL): see your OTLP backend");
}
if (!response.ok) fail(body.error ?? `the API answered HTTP ${response.status}`);
const traces = body.traces ?? [];
if (traces.length === 0) fail(`no spans of call ${body.callSid} are kept (they are kept in memory until a restart)`);
console.log(`call ${body.callSid}: ${traces.length} trace(s)`);
for (const { traceId, spans } of traces) console.log(`\n${renderTrace(traceId, spans)}`);
