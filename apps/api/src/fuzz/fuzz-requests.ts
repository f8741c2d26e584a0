// Requests for the stack-level fuzzer, made from a seeded generator so that a failure is
// replayed by its seed: random and mutated bodies for every webhook, /api/inngest and
// every tRPC procedure (single and batched). Valid requests are the starting point; most
// mutations are signed as the provider would sign them, so they reach the parsers and the
// writes behind the signature checks rather than stopping at them.
import { createHmac } from "node:crypto";
import { statusCallbackUrls } from "@callflow/providers";
import { Webhook } from "standardwebhooks";
import twilio from "twilio";

/** Percent-encoded; a lone surrogate (which no URL can carry) becomes U+FFFD first. */
const uri = (text: string) =>
  encodeURIComponent(text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"));

/** mulberry32: small, fast and seeded; enough to pick mutations reproducibly. */
export function seededRandom(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number) => Math.floor(next() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  return { next, int, pick, chance: (p: number) => next() < p };
}
export type Random = ReturnType<typeof seededRandom>;

/** Strings that have broken parsers and writes before. */
const NASTY = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "%00",
  "\ud800",
  "🙂".repeat(50),
  "x".repeat(5000),
  "{{".repeat(400),
  `{{${" ".repeat(1600)}x`,
  "null",
  "[]",
  "{}",
  "__proto__",
  "constructor",
  "'; drop table call_logs; --",
  "0000-01-01T00:00:00Z",
  "+275760-09-13T00:00:00Z",
  "2026-11-30T10:00:00+23:59",
  "-1",
  "1e309",
  "NaN",
  "whatsapp:",
  "whatsapp:+15125550147",
  "+15125550147",
  "+1",
  "anonymous",
  "client:alice",
  `CA${"0".repeat(32)}`,
  `SM${"f".repeat(32)}`,
  "00000000-0000-0000-0000-000000000000",
  "STOP",
  " start ",
  "HELP",
  "org_demo_rosas_bakery",
  "\r\n",
  "\t",
  "ﬀ",
];

/** What an HTTP header can carry: Latin-1 without control characters. */
const headerText = (text: string) => text.replace(/[^\x20-\x7e\xa0-\xff]/g, "?");

export function randomString(random: Random): string {
  if (random.chance(0.5)) return random.pick(NASTY);
  const length = random.int(random.chance(0.1) ? 3000 : 40);
  let text = "";
  for (let i = 0; i < length; i++)
    text += String.fromCharCode(random.chance(0.9) ? 32 + random.int(95) : random.int(0x3000));
  return text;
}

/** Any JSON value, at most `depth` deep. */
export function randomJson(random: Random, depth = 3): unknown {
  const kind = random.int(depth > 0 ? 8 : 5);
  if (kind === 0) return null;
  if (kind === 1) return random.chance(0.5);
  if (kind === 2) return random.pick([0, -1, 1, 42, 1.5, 1e21, -1e21, 2 ** 53 + 2, 10_000]);
  if (kind === 3 || kind === 4) return randomString(random);
  if (kind === 5) return Array.from({ length: random.int(4) }, () => randomJson(random, depth - 1));
  const object: Record<string, unknown> = {};
  for (let i = random.int(5); i > 0; i--)
    object[random.chance(0.7) ? randomKey(random) : randomString(random)] = randomJson(random, depth - 1);
  return object;
}

const KEYS = [
  "id",
  "limit",
  "cursor",
  "from",
  "to",
  "number",
  "outcome",
  "e164",
  "label",
  "reason",
  "smsBody",
  "name",
  "trigger",
  "language",
  "whatsappVariables",
  "whatsappContentSid",
  "active",
  "channel",
  "status",
  "optedOut",
  "includeArchived",
  "timezone",
  "quiet_hours",
  "business_hours",
  "cooldown_seconds",
  "fallback_window_seconds",
  "trigger_outcomes",
  "help_text",
  "consent_policy",
  "answered_min_seconds",
];
const randomKey = (random: Random) => random.pick(KEYS);

/** A valid value, then often changed: a field removed, replaced, added or its type changed. */
export function mutate(random: Random, value: unknown): unknown {
  if (random.chance(0.2)) return value;
  if (value === null || typeof value !== "object") return random.chance(0.5) ? randomJson(random, 1) : value;
  if (Array.isArray(value)) return random.chance(0.5) ? [...value, randomJson(random, 1)] : value.slice(1);
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  for (let n = 1 + random.int(3); n > 0; n--) {
    const action = random.int(4);
    const key = keys.length ? random.pick(keys) : randomKey(random);
    if (action === 0) delete copy[key];
    else if (action === 1) copy[key] = randomJson(random, 2);
    else if (action === 2) copy[randomKey(random)] = randomJson(random, 1);
    else copy[key] = mutate(random, copy[key]);
  }
  return copy;
}

export interface FuzzRequest {
  describe: string;
  url: string;
  init: RequestInit;
}

export interface FuzzTargets {
  url: string;
  publicUrl: string;
  twilioAuthToken: string;
  clerkSecret: string;
  inngestSigningKey: string;
  tokens: string[];
  ids: { call: string; message: string; contact: string; template: string; phoneNumber: string; job: string };
  businessNumber: string;
  procedures: Array<{ path: string; type: "query" | "mutation"; example: unknown }>;
}

/** One fuzz request of each kind in turn: Twilio, Clerk, Inngest, tRPC, anything. */
export function fuzzRequest(random: Random, targets: FuzzTargets, index: number): FuzzRequest {
  const kinds = [
    twilioRequest,
    twilioRequest,
    clerkRequest,
    inngestRequest,
    trpcRequest,
    trpcRequest,
    trpcBatch,
    anyRequest,
  ];
  return (kinds[index % kinds.length] as typeof twilioRequest)(random, targets);
}

function form(random: Random, base: Record<string, string>): [string, string][] {
  const entries = Object.entries(base).filter(() => !random.chance(0.08));
  const mutated = entries.map(([key, value]): [string, string] => [
    key,
    random.chance(0.15) ? randomString(random) : value,
  ]);
  if (random.chance(0.2))
    mutated.push([random.chance(0.5) ? random.pick(Object.keys(base)) : randomString(random), randomString(random)]);
  return mutated;
}

function twilioRequest(random: Random, t: FuzzTargets): FuzzRequest {
  const sid = (prefix: string) =>
    `${prefix}${Array.from({ length: 32 }, () => "0123456789abcdef"[random.int(16)]).join("")}`;
  const caller = `+1512555${String(1000 + random.int(9000))}`;
  const route = random.pick(["/voice", "/messages/status", "/messages/inbound"] as const);
  const base: Record<string, string> =
    route === "/voice"
      ? {
          CallSid: sid("CA"),
          CallStatus: random.pick(["completed", "no-answer", "busy", "ringing", "in-progress"]),
          From: caller,
          To: t.businessNumber,
          CallDuration: String(random.int(200)),
          AnsweredBy: random.pick(["human", "machine_end_beep", ""]),
          Direction: "inbound",
        }
      : route === "/messages/status"
        ? {
            MessageSid: random.chance(0.3) ? `SM${"f".repeat(32)}` : sid("SM"),
            MessageStatus: random.pick(["sent", "delivered", "read", "failed", "undelivered", "queued"]),
            ErrorCode: random.pick(["", "63024", "30003"]),
            To: `whatsapp:${caller}`,
            From: `whatsapp:${t.businessNumber}`,
          }
        : {
            MessageSid: sid("SM"),
            From: random.chance(0.5) ? `whatsapp:${caller}` : caller,
            To: t.businessNumber,
            Body: random.pick(["STOP", "start", "HELP", "Call me back", randomString(random)]),
          };
  const params = form(random, base);
  let query = "";
  if (route === "/messages/status" && random.chance(0.5)) {
    const minted = new URL(
      statusCallbackUrls({ publicUrl: t.publicUrl, authToken: t.twilioAuthToken }).urlFor(
        random.chance(0.5) ? t.ids.message : crypto.randomUUID(),
      ),
    );
    query = random.chance(0.7) ? minted.search : `?messageId=${uri(randomString(random))}`;
  }
  const path = `/webhooks/twilio${route}${query}`;
  const signedParams: Record<string, string | string[]> = {};
  for (const [key, value] of params) {
    const seen = signedParams[key];
    signedParams[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  const signature = random.chance(0.85)
    ? twilio.getExpectedTwilioSignature(
        t.twilioAuthToken,
        `${t.publicUrl}${path}`,
        signedParams as Record<string, string>,
      )
    : random.pick(["", "nope", headerText(randomString(random))]);
  const body = random.chance(0.05) ? randomString(random) : new URLSearchParams(params).toString();
  return {
    describe: `POST ${path} ${body.slice(0, 200)}`,
    url: `${t.url}${path}`,
    init: {
      method: "POST",
      headers: {
        "content-type": random.chance(0.95) ? "application/x-www-form-urlencoded" : "application/json",
        ...(signature ? { "x-twilio-signature": signature } : {}),
      },
      body,
    },
  };
}

function clerkRequest(random: Random, t: FuzzTargets): FuzzRequest {
  const base = {
    type: random.pick(["organization.created", "organization.updated", "organization.deleted", "user.created"]),
    data: { id: random.chance(0.7) ? `org_fuzz_${random.int(50)}` : randomString(random), name: randomString(random) },
  };
  const payload = random.chance(0.9) ? JSON.stringify(mutate(random, base)) : randomString(random);
  const id = random.chance(0.9) ? `msg_${random.int(1e9)}` : randomString(random).slice(0, 400) || "x";
  const at = new Date(Date.now() - (random.chance(0.1) ? 3_600_000 : 0));
  let signature = "v1,bm90";
  try {
    if (random.chance(0.85)) signature = new Webhook(t.clerkSecret).sign(id, at, payload);
  } catch {}
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "svix-timestamp": String(Math.floor(at.getTime() / 1000)),
    "svix-signature": signature,
  };
  if (/^[\x20-\x7e]*$/.test(id)) headers["svix-id"] = id;
  return {
    describe: `POST /webhooks/clerk ${payload.slice(0, 200)}`,
    url: `${t.url}/webhooks/clerk`,
    init: { method: "POST", headers, body: payload },
  };
}

function inngestRequest(random: Random, t: FuzzTargets): FuzzRequest {
  const method = random.pick(["POST", "POST", "POST", "GET", "PUT"]);
  const fnId = random.pick([
    "callflow-call-completed",
    "callflow-deliver-message",
    "callflow-deliver-message-failure",
    randomString(random),
  ]);
  const path = `/api/inngest?fnId=${uri(fnId)}&stepId=${uri(random.pick(["step", randomString(random)]))}`;
  if (method !== "POST") return { describe: `${method} ${path}`, url: `${t.url}${path}`, init: { method } };
  const event = {
    name: random.pick(["call/completed", "message/delivery.requested", "inngest/function.failed"]),
    id: `evt-${random.int(1e6)}`,
    data: { callSid: `CA${"1".repeat(32)}`, organizationId: "org_fixture_a", callLogId: t.ids.call, jobId: t.ids.job },
    ts: Date.now(),
  };
  const envelope = {
    event,
    events: [event],
    steps: {},
    ctx: {
      run_id: `01J${random.int(1e9)}`,
      attempt: 0,
      disable_immediate_execution: false,
      use_api: false,
      stack: { stack: [], current: 0 },
    },
    version: 2,
  };
  const body = random.chance(0.9) ? JSON.stringify(mutate(random, envelope)) : randomString(random);
  const at = Math.floor(Date.now() / 1000);
  const mac = createHmac("sha256", t.inngestSigningKey.replace(/^signkey-\w+-/, ""))
    .update(body + at)
    .digest("hex");
  const signature = random.chance(0.8)
    ? `t=${at}&s=${mac}`
    : random.pick(["", `t=${at}&s=${"0".repeat(64)}`, headerText(randomString(random))]);
  return {
    describe: `POST ${path} ${body.slice(0, 200)}`,
    url: `${t.url}${path}`,
    init: {
      method: "POST",
      headers: { "content-type": "application/json", ...(signature ? { "x-inngest-signature": signature } : {}) },
      body,
    },
  };
}

function trpcInput(random: Random, t: FuzzTargets) {
  const procedure = random.pick(t.procedures);
  const input = random.chance(0.8) ? mutate(random, procedure.example) : randomJson(random);
  return { procedure, input };
}

function authHeaders(random: Random, t: FuzzTargets): Record<string, string> {
  const token = random.pick([...t.tokens, "", "garbage", `${t.tokens[0]}x`]);
  return token ? { authorization: random.chance(0.95) ? `Bearer ${token}` : token } : {};
}

function trpcRequest(random: Random, t: FuzzTargets): FuzzRequest {
  const { procedure, input } = trpcInput(random, t);
  const headers = authHeaders(random, t);
  if (procedure.type === "query" && random.chance(0.9)) {
    const query = input === undefined ? "" : `?input=${uri(JSON.stringify(input) ?? "")}`;
    return {
      describe: `GET /trpc/${procedure.path}${query.slice(0, 200)}`,
      url: `${t.url}/trpc/${procedure.path}${query}`,
      init: { headers },
    };
  }
  const body = random.chance(0.95) ? (JSON.stringify(input) ?? "") : randomString(random);
  return {
    describe: `POST /trpc/${procedure.path} ${body.slice(0, 200)}`,
    url: `${t.url}/trpc/${procedure.path}`,
    init: { method: "POST", headers: { ...headers, "content-type": "application/json" }, body },
  };
}

function trpcBatch(random: Random, t: FuzzTargets): FuzzRequest {
  const calls = Array.from({ length: 1 + random.int(4) }, () => trpcInput(random, t));
  const queries = random.chance(0.6);
  const paths = calls.map((call) => call.procedure.path).join(",");
  const inputs = Object.fromEntries(calls.map((call, index) => [String(index), call.input]));
  const headers = authHeaders(random, t);
  if (queries) {
    const query = `?batch=1&input=${uri(JSON.stringify(inputs))}`;
    return {
      describe: `GET /trpc/${paths}${query.slice(0, 200)}`,
      url: `${t.url}/trpc/${paths}${query}`,
      init: { headers },
    };
  }
  return {
    describe: `POST /trpc/${paths}?batch=1`,
    url: `${t.url}/trpc/${paths}?batch=1`,
    init: { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(inputs) },
  };
}

function anyRequest(random: Random, t: FuzzTargets): FuzzRequest {
  const method = random.pick(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);
  const path = random.pick([
    "/",
    "/healthz",
    "/readyz",
    "/trpc",
    "/trpc/",
    "/trpc/nope",
    "/webhooks/twilio",
    "/webhooks/stripe",
    "/api/inngest",
    `/${uri(randomString(random))}`,
  ]);
  const hasBody = method !== "GET" && method !== "OPTIONS";
  return {
    describe: `${method} ${path}`,
    url: `${t.url}${path}`,
    init: {
      method,
      ...(hasBody
        ? {
            body: randomString(random),
            headers: {
              "content-type": random.pick(["application/json", "text/plain", "application/x-www-form-urlencoded"]),
            },
          }
        : {}),
    },
  };
}
