// npm run -s simulate:call -- --org <orgId> --from <E.164> [--outcome missed|answered|voicemail|busy]
// Places a call the way a caller does: the local Twilio sandbox dials the business's number
// and runs the call through that number's Voice URL (CallFlow's TwiML: forward to the
// business's phone, then voicemail), posting every callback Twilio would, signed; --outcome
// says what the people on the line do. Then follows the call's message job through the API
// (tRPC, with a dev token) until it is final, printing each change.
import {
  openDevTokenIssuer,
  readTwilioSandboxAddress,
  type SandboxCall,
  type SandboxCallScenario,
  twilioSandboxAddressFile,
} from "@callflow/devstack";
import { VOICE_CALLBACK_GRACE_SECONDS } from "@callflow/domain";
import { z } from "zod";
import { loadConfig, webOriginsOf } from "../config.ts";
import { readCliArgs } from "./cli-args.ts";

const usage =
  "usage: npm run simulate:call -- --org <orgId> --from <E.164> [--outcome missed|answered|voicemail|busy] [--to <E.164>] [--api <url>] [--timeout <seconds>]";
const fail = (message: string, code = 2): never => {
  console.error(`simulate:call: ${message}`);
  process.exit(code);
};

/** What the people on the line do for each outcome asked for. */
const scenarios: Record<string, SandboxCallScenario> = {
  // Nobody picks up; at the voicemail greeting the caller says nothing.
  missed: "no-answer",
  answered: "answered",
  voicemail: "voicemail",
  // The business's line is busy; at the greeting the caller hangs up.
  busy: "busy",
};

const argsSchema = z.object({
  org: z
    .string({ error: "--org is required" })
    .regex(/^[A-Za-z0-9_]{1,64}$/, "--org must be an org id such as org_demo_rosas_bakery"),
  from: z
    .string({ error: "--from is required" })
    .regex(/^\+[1-9][0-9]{6,14}$/, "--from must be an E.164 number such as +15125550147"),
  outcome: z
    .enum(["missed", "answered", "voicemail", "busy"], {
      error: "--outcome must be missed, answered, voicemail or busy",
    })
    .default("missed"),
  to: z
    .string()
    .regex(/^\+[1-9][0-9]{6,14}$/, "--to must be an E.164 number")
    .optional(),
  api: z.string().url("--api must be the API's URL, such as http://localhost:3000").optional(),
  timeout: z.coerce.number().int().min(1).max(3600).default(120),
});
const args = readCliArgs("simulate:call", usage, argsSchema, ["org", "from", "outcome", "to", "api", "timeout"]);

// The API's own configuration: its port, data directory (the sandbox's address), Twilio account and dashboard origin.
const config = loadConfig();
if (!config.twilio.sandbox) fail("Twilio keys are configured: call the business's number from a phone instead", 1);
const apiUrl = (args.api ?? `http://localhost:${config.port}`).replace(/\/$/, "");
const issuer = openDevTokenIssuer(config.dataDir);
const token = issuer.issue({
  orgId: args.org,
  role: "member",
  userId: "user_simulator",
  authorizedParty: (config.authorizedParties ?? webOriginsOf(config, null))[0],
});

async function trpc<T>(path: string, input?: unknown): Promise<T> {
  const query = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`;
  const response = await fetch(`${apiUrl}/trpc/${path}${query}`, {
    headers: { authorization: `Bearer ${token}` },
  }).catch(() => fail(`the API does not answer at ${apiUrl}: start it with npm start`, 1));
  const body = (await response.json()) as { result?: { data: T }; error?: { message: string } };
  if (!body.result) fail(`${path}: ${body.error?.message ?? response.status}`, 1);
  return (body.result as { data: T }).data;
}

const numbers = await trpc<Array<{ e164: string }>>("phoneNumbers.list");
const to = args.to ?? numbers[0]?.e164 ?? fail(`${args.org} has no phone number: add one first`, 1);

const sandbox = readTwilioSandboxAddress(twilioSandboxAddressFile(config.dataDir));
if (!sandbox)
  fail(`the local Twilio sandbox is not running: start CallFlow with npm start (DATA_DIR ${config.dataDir})`, 1);
const placed = await fetch(`${sandbox?.url}/sandbox/calls`, {
  method: "POST",
  headers: {
    authorization: `Basic ${Buffer.from(`${config.twilio.accountSid}:${config.twilio.authToken}`).toString("base64")}`,
    "content-type": "application/x-www-form-urlencoded",
  },
  body: new URLSearchParams({ From: args.from, To: to, Scenario: scenarios[args.outcome] as string }),
}).catch(() => fail(`the local Twilio sandbox does not answer at ${sandbox?.url}: is npm start still running?`, 1));
if (!placed.ok) fail(`the Twilio sandbox refused the call: ${await placed.text()}`, 1);
const call = (await placed.json()) as SandboxCall;
const callSid = call.callSid;
console.log(`call ${callSid}: ${args.from} → ${to}, ${args.outcome} (${lineOf(call)})`);
const refused = call.callbacks.filter((callback) => callback.error);
for (const error of call.errors)
  console.error(`  Twilio error ${error.code}: ${error.message}${error.url ? ` (${error.url})` : ""}`);
if (call.errors.length || refused.length) fail("Twilio could not run the call through CallFlow's webhooks", 1);

/** What happened on the line, in a few words. */
function lineOf(call: SandboxCall): string {
  const parts = [call.dial ? `forwarded to ${call.dial.number}: ${call.dial.status}` : "not forwarded"];
  if (call.recording) parts.push(`a ${call.recording.durationSeconds} s voicemail`);
  parts.push(`${call.callbacks.length} signed requests to the webhooks`);
  return parts.join("; ");
}

type CallDetail = {
  call: { id: string; outcome: string | null; outcome_source: string | null };
  job: {
    status: string;
    decision: string;
    reason: string;
    final_channel: string | null;
    final_reason: string | null;
    send_after: string | null;
  } | null;
  messages: Array<{ channel: string; status: string; error_code: number | null }>;
};
const deadline = Date.now() + args.timeout * 1000;
let callId: string | undefined;
let last = "";
let outcomeShown = false;
while (Date.now() < deadline) {
  if (!callId) {
    const calls = await trpc<{ items: Array<{ id: string; call_sid: string }> }>("calls.list", {
      number: args.from.slice(1),
      limit: 5,
    });
    callId = calls.items.find((call) => call.call_sid === callSid)?.id;
  }
  if (callId) {
    const detail = await trpc<CallDetail>("calls.get", { id: callId });
    if (!outcomeShown && detail.call.outcome) {
      console.log(`outcome: ${detail.call.outcome} (settled by the ${detail.call.outcome_source} callback)`);
      outcomeShown = true;
    }
    const line = detail.job
      ? `job ${detail.job.status} (${detail.job.decision}: ${detail.job.reason})${detail.messages.map((m) => `; ${m.channel} ${m.status}${m.error_code ? ` ${m.error_code}` : ""}`).join("")}`
      : detail.call.outcome
        ? "waiting for the message job…"
        : `waiting for the outcome (a final status waits ${VOICE_CALLBACK_GRACE_SECONDS} s for a Dial or Record action still due)…`;
    if (line !== last) console.log(line);
    last = line;
    if (detail.job?.status === "scheduled") {
      console.log(
        `deferred: the message goes out at ${detail.job.send_after} (the business's quiet hours); follow it with calls.get`,
      );
      process.exit(0);
    }
    if (detail.job && ["delivered", "failed", "skipped"].includes(detail.job.status)) {
      console.log(
        `final: ${detail.job.status}${detail.job.final_channel ? ` by ${detail.job.final_channel}` : ""}${detail.job.final_reason ? ` (${detail.job.final_reason})` : ""}`,
      );
      process.exit(detail.job.status === "failed" ? 3 : 0);
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 250));
}
fail("the job did not reach a final status in time", 1);
