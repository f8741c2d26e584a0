// npm run simulate:call -- --org <orgId> --from <E.164> [--outcome missed|answered|voicemail]
// Places a call the way Twilio reports one: a signed voice status callback to the API's
// public webhook path. Then follows the call's message job through the API (tRPC, with a
// dev token) until it is final, printing each change.
import { parseArgs } from "node:util";
import { openDevTokenIssuer } from "@callflow/devstack";
import twilio from "twilio";
import { z } from "zod";
import { loadConfig, publicUrlOf, webOriginsOf } from "../config.ts";

const usage =
  "usage: npm run simulate:call -- --org <orgId> --from <E.164> [--outcome missed|answered|voicemail] [--to <E.164>] [--api <url>] [--timeout <seconds>]";
const fail = (message: string, code = 2): never => {
  console.error(`simulate:call: ${message}`);
  process.exit(code);
};

const argsSchema = z.object({
  org: z
    .string({ error: "--org is required" })
    .regex(/^[A-Za-z0-9_]{1,64}$/, "--org must be an org id such as org_demo_rosas_bakery"),
  from: z
    .string({ error: "--from is required" })
    .regex(/^\+[1-9][0-9]{6,14}$/, "--from must be an E.164 number such as +15125550147"),
  outcome: z
    .enum(["missed", "answered", "voicemail"], { error: "--outcome must be missed, answered or voicemail" })
    .default("missed"),
  to: z
    .string()
    .regex(/^\+[1-9][0-9]{6,14}$/, "--to must be an E.164 number")
    .optional(),
  api: z.string().url("--api must be the API's URL, such as http://localhost:3000").optional(),
  timeout: z.coerce.number().int().min(1).max(3600).default(120),
});
let values: Record<string, unknown> = {};
try {
  values = parseArgs({
    options: {
      org: { type: "string" },
      from: { type: "string" },
      outcome: { type: "string" },
      to: { type: "string" },
      api: { type: "string" },
      timeout: { type: "string" },
    },
    args: process.argv.slice(2).filter((arg) => arg !== "--"),
  }).values;
} catch (error) {
  fail(`${(error as Error).message}\n${usage}`);
}
const parsed = argsSchema.safeParse(values);
if (!parsed.success) fail(`${parsed.error.issues.map((issue) => issue.message).join("; ")}\n${usage}`);
const args = parsed.data as z.infer<typeof argsSchema>;

// The API's own configuration: its port, public URL, Twilio token, issuer key and dashboard origin.
const config = loadConfig();
const apiUrl = (args.api ?? `http://localhost:${config.port}`).replace(/\/$/, "");
const publicUrl = publicUrlOf(config, config.port);
const authToken = config.twilio.authToken;
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

const callSid = `CA${crypto.randomUUID().replaceAll("-", "")}`;
const shapes: Record<string, Record<string, string>> = {
  missed: { CallStatus: "no-answer", CallDuration: "0" },
  answered: { CallStatus: "completed", CallDuration: "95", AnsweredBy: "human" },
  voicemail: { CallStatus: "completed", CallDuration: "38", AnsweredBy: "machine_end_beep" },
};
const shape = shapes[args.outcome];
const params: Record<string, string> = {
  AccountSid: config.twilio.accountSid,
  ApiVersion: "2010-04-01",
  CallSid: callSid,
  From: args.from,
  To: to,
  Direction: "inbound",
  Timestamp: new Date().toUTCString(),
  ...shape,
};
const webhook = `${publicUrl}/webhooks/twilio/voice`;
const response = await fetch(`${apiUrl}/webhooks/twilio/voice`, {
  method: "POST",
  headers: {
    "content-type": "application/x-www-form-urlencoded",
    "x-twilio-signature": twilio.getExpectedTwilioSignature(authToken, webhook, params),
  },
  body: new URLSearchParams(params),
});
console.log(`call ${callSid}: ${args.from} → ${to}, ${args.outcome}; webhook answered ${response.status}`);
if (response.status !== 200) fail(`the voice webhook refused the call: ${await response.text()}`, 1);

type CallDetail = {
  call: { id: string };
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
    const line = detail.job
      ? `job ${detail.job.status} (${detail.job.decision}: ${detail.job.reason})${detail.messages.map((m) => `; ${m.channel} ${m.status}${m.error_code ? ` ${m.error_code}` : ""}`).join("")}`
      : "waiting for the message job…";
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
