// Local mode's stand-in for Twilio: an HTTP server speaking the part of Twilio's REST API
// the messaging adapter uses (create and fetch a Message, Twilio-shaped errors), which later
// posts status callbacks signed the way Twilio signs them, by the scenario rules in
// twilio-sandbox-scenarios.ts. It can also "place a call": post a signed voice status callback.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import twilio from "twilio";
import {
  defaultSandboxTiming,
  type SandboxChannel,
  type SandboxMessageStatus,
  type SandboxRefusal,
  type SandboxStep,
  type SandboxTiming,
  sandboxErrorMessages,
  sandboxScenario,
} from "./twilio-sandbox-scenarios.ts";

/** Local mode's Twilio account: the sandbox answers for it, and the API signs and checks with its token. */
export const TWILIO_SANDBOX_ACCOUNT_SID = `AC${"0".repeat(32)}`;
export const TWILIO_SANDBOX_AUTH_TOKEN = "callflow-local-sandbox-token";

export interface TwilioSandboxOptions {
  /** 0 (the default): any free port. */
  port?: number;
  host?: string;
  accountSid: string;
  authToken: string;
  timing?: Partial<SandboxTiming>;
  /** The account's own phone numbers (E.164); default: see `isSandboxAccountNumber`. */
  ownsNumber?: (e164: string) => boolean;
}

/**
 * The numbers the sandbox's account owns, as a Twilio account owns the numbers it bought or
 * ported: the fictional ranges +1 512 555 0100–0199 and +34 911 230 100–199. The demo
 * businesses' numbers are among them; any other number is not CallFlow's to connect.
 */
export function isSandboxAccountNumber(e164: string): boolean {
  return /^\+151255501\d\d$/.test(e164) || /^\+349112301\d\d$/.test(e164);
}

const SANDBOX_NUMBER_RANGE = Array.from({ length: 100 }, (_, n) => String(100 + n)).flatMap((last) => [
  `+15125550${last}`,
  `+34911230${last}`,
]);

/** One create request, accepted or refused, as the sandbox saw it. Updated as its status moves. */
export interface SandboxMessage {
  /** Null when refused. */
  sid: string | null;
  channel: SandboxChannel;
  /** E.164, without the "whatsapp:" prefix (see `channel`). */
  to: string;
  from: string;
  body: string | null;
  contentSid: string | null;
  contentVariables: Record<string, string> | null;
  statusCallback: string | null;
  accepted: boolean;
  /** The latest status; null when refused. */
  status: SandboxMessageStatus | null;
  /** The refusal's code, or the failure's once the message failed. */
  errorCode: number | null;
  errorMessage: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** One callback the sandbox posted (or tried to). */
export interface SandboxCallback {
  kind: "message-status" | "voice-status";
  url: string;
  params: Record<string, string>;
  /** The X-Twilio-Signature header sent. */
  signature: string;
  /** The webhook's HTTP status; null while in flight or when it never answered. */
  responseStatus: number | null;
  /** Why the delivery failed (no answer, or a non-2xx answer); null when it succeeded. */
  error: string | null;
}

/** Twilio's CallStatus values. */
export type SandboxCallStatus =
  | "queued"
  | "ringing"
  | "in-progress"
  | "completed"
  | "busy"
  | "failed"
  | "no-answer"
  | "canceled";

export interface PlaceCallOptions {
  /** The number's voice status callback URL, signed exactly as given. */
  voiceStatusCallback: string;
  /** The caller, E.164. */
  from: string;
  /** The business's number, E.164. */
  to: string;
  callStatus: SandboxCallStatus;
  durationSeconds?: number;
  /** Twilio's AnsweredBy (answering machine detection): "human", "machine_end_beep", ... */
  answeredBy?: string;
  /** Reuse a CallSid to replay the same call's callback, as Twilio does on retries. */
  callSid?: string;
}

export interface PlacedCall {
  callSid: string;
  /** The webhook's HTTP status; null when it did not answer (see `error`). */
  status: number | null;
  error: string | null;
}

export interface TwilioSandbox {
  /** Base URL of the fake REST API, e.g. http://127.0.0.1:41234: the adapter's `baseUrl`. */
  readonly url: string;
  readonly accountSid: string;
  /** Every create request, in arrival order. */
  readonly sends: readonly SandboxMessage[];
  /** Every callback posted, in posting order. */
  readonly callbacks: readonly SandboxCallback[];
  placeCall(options: PlaceCallOptions): Promise<PlacedCall>;
  /** The next create request is refused with this error (for 429/5xx and other refusals). */
  refuseNextSend(refusal: SandboxRefusal): void;
  /** Resolves once every scheduled status change has happened and its callback was posted. */
  whenIdle(): Promise<void>;
  /** Closes the server and cancels pending status changes and callbacks. */
  stop(): Promise<void>;
}

const API_VERSION = "2010-04-01";
const MAX_BODY_BYTES = 64 * 1024;
const CALLBACK_TIMEOUT_MS = 15_000;
/** The shape Twilio accepts as a phone number (the same check as the domain's isE164). */
const E164 = /^\+[1-9][0-9]{6,14}$/;
const CONTENT_SID = /^HX[0-9a-fA-F]{32}$/;

const sid = (prefix: string) => `${prefix}${randomBytes(16).toString("hex")}`;
/** Twilio's date format: RFC 2822 with a numeric zone. */
const rfc2822 = (date: Date) => date.toUTCString().replace("GMT", "+0000");

interface StoredMessage extends SandboxMessage {
  sid: string;
  status: SandboxMessageStatus;
  dateSent: Date | null;
  /** Callbacks of one message are posted one after another, in status order. */
  chain: Promise<void>;
}

class TwilioHttpError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startTwilioSandbox(options: TwilioSandboxOptions): Promise<TwilioSandbox> {
  const { accountSid, authToken } = options;
  const ownsNumber = options.ownsNumber ?? isSandboxAccountNumber;
  const timing: SandboxTiming = { ...defaultSandboxTiming, ...options.timing };
  const sends: SandboxMessage[] = [];
  const callbacks: SandboxCallback[] = [];
  const messages = new Map<string, StoredMessage>();
  const refusals: SandboxRefusal[] = [];
  const cancels = new Set<() => void>();
  const pending = new Set<Promise<void>>();
  const aborter = new AbortController();
  let stopped = false;

  const track = (work: Promise<void>) => {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };

  /** Runs `fn` after `ms` unless the sandbox stops first. */
  const later = (ms: number, fn: () => Promise<void>) => {
    track(
      new Promise<void>((resolve) => {
        const cancel = () => {
          clearTimeout(timer);
          cancels.delete(cancel);
          resolve();
        };
        const timer = setTimeout(() => {
          cancels.delete(cancel);
          fn().finally(resolve);
        }, ms);
        cancels.add(cancel);
      }),
    );
  };

  /** Posts a signed form, records the outcome, never throws. */
  async function post(kind: SandboxCallback["kind"], url: string, params: Record<string, string>) {
    const signature = twilio.getExpectedTwilioSignature(authToken, url, params);
    const record: SandboxCallback = { kind, url, params, signature, responseStatus: null, error: null };
    callbacks.push(record);
    if (stopped) {
      record.error = "the sandbox was stopped";
      return record;
    }
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          "X-Twilio-Signature": signature,
          "I-Twilio-Idempotency-Token": randomUUID(),
          "User-Agent": "TwilioProxy/1.1",
        },
        body: new URLSearchParams(params).toString(),
        signal: AbortSignal.any([aborter.signal, AbortSignal.timeout(CALLBACK_TIMEOUT_MS)]),
      });
      await response.arrayBuffer();
      record.responseStatus = response.status;
      if (!response.ok) record.error = `the webhook answered HTTP ${response.status}`;
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      record.error = `no answer from the webhook: ${cause ?? (error as Error).message}`;
    }
    return record;
  }

  function address(message: SandboxMessage, which: "to" | "from") {
    return message.channel === "whatsapp" ? `whatsapp:${message[which]}` : message[which];
  }

  function messageJson(message: StoredMessage) {
    return {
      account_sid: accountSid,
      api_version: API_VERSION,
      body: message.body ?? "",
      date_created: rfc2822(message.createdAt),
      date_sent: message.dateSent ? rfc2822(message.dateSent) : null,
      date_updated: rfc2822(message.updatedAt),
      direction: "outbound-api",
      error_code: message.errorCode,
      error_message: message.errorMessage,
      from: address(message, "from"),
      messaging_service_sid: null,
      num_media: "0",
      num_segments: "1",
      price: null,
      price_unit: "USD",
      sid: message.sid,
      status: message.status,
      subresource_uris: { media: `/${API_VERSION}/Accounts/${accountSid}/Messages/${message.sid}/Media.json` },
      to: address(message, "to"),
      uri: `/${API_VERSION}/Accounts/${accountSid}/Messages/${message.sid}.json`,
    };
  }

  function advance(message: StoredMessage, step: SandboxStep) {
    const now = new Date();
    message.status = step.status;
    message.updatedAt = now;
    if (step.status === "sent") message.dateSent = now;
    if (step.errorCode !== undefined) {
      message.errorCode = step.errorCode;
      message.errorMessage = sandboxErrorMessages[step.errorCode] ?? null;
    }
    const callbackUrl = message.statusCallback;
    if (!callbackUrl) return Promise.resolve();
    const params: Record<string, string> = {
      AccountSid: accountSid,
      ApiVersion: API_VERSION,
      From: address(message, "from"),
      To: address(message, "to"),
      MessageSid: message.sid,
      SmsSid: message.sid,
      MessageStatus: step.status,
      SmsStatus: step.status,
      ...(step.errorCode !== undefined ? { ErrorCode: String(step.errorCode) } : {}),
      ...(message.channel === "whatsapp" ? { ChannelPrefix: "whatsapp" } : {}),
    };
    message.chain = message.chain.then(async () => {
      await post("message-status", callbackUrl, params);
    });
    return message.chain;
  }

  function createMessage(form: URLSearchParams): StoredMessage {
    const rawTo = form.get("To") ?? "";
    const rawFrom = form.get("From") ?? "";
    const channel: SandboxChannel = rawTo.startsWith("whatsapp:") ? "whatsapp" : "sms";
    const contentVariablesText = form.get("ContentVariables");
    const now = new Date();
    const base: SandboxMessage = {
      sid: null,
      channel,
      to: rawTo.replace(/^whatsapp:/, ""),
      from: rawFrom.replace(/^whatsapp:/, ""),
      body: form.get("Body"),
      contentSid: form.get("ContentSid"),
      contentVariables: null,
      statusCallback: form.get("StatusCallback"),
      accepted: false,
      status: null,
      errorCode: null,
      errorMessage: null,
      createdAt: now,
      updatedAt: now,
    };
    const refuse = (refusal: SandboxRefusal): never => {
      base.errorCode = refusal.code;
      base.errorMessage = refusal.message;
      sends.push(base);
      throw new TwilioHttpError(refusal.httpStatus, refusal.code, refusal.message);
    };

    if (!rawTo) refuse({ httpStatus: 400, code: 21604, message: "A 'To' phone number is required." });
    if (!rawFrom) refuse({ httpStatus: 400, code: 21603, message: "A 'From' phone number is required." });
    if (!base.body && !base.contentSid) refuse({ httpStatus: 400, code: 21602, message: "Message body is required." });
    if (!E164.test(base.to)) refuse({ httpStatus: 400, code: 21211, message: `Invalid 'To' Phone Number: ${rawTo}` });
    if (!E164.test(base.from)) {
      refuse({
        httpStatus: 400,
        code: 21212,
        message: `The 'From' number ${rawFrom} is not a valid phone number, shortcode, or alphanumeric sender ID.`,
      });
    }
    if (rawFrom.startsWith("whatsapp:") !== (channel === "whatsapp")) {
      refuse({
        httpStatus: 400,
        code: 21910,
        message: "Invalid From and To pair. From and To should be of the same channel",
      });
    }
    if (contentVariablesText !== null) {
      if (!base.contentSid) {
        refuse({
          httpStatus: 400,
          code: 21654,
          message: "ContentSid Required: a ContentSid must be given with ContentVariables.",
        });
      }
      base.contentVariables = parseContentVariables(contentVariablesText);
      if (base.contentVariables === null) {
        refuse({ httpStatus: 400, code: 21656, message: "The ContentVariables Parameter is invalid." });
      }
    }
    if (base.contentSid !== null && !CONTENT_SID.test(base.contentSid)) {
      refuse({ httpStatus: 400, code: 21655, message: "The ContentSid is Invalid." });
    }
    const injected = refusals.shift();
    if (injected) refuse(injected);

    const scenario = sandboxScenario(channel, base.to, timing);
    if (scenario.kind === "refused") refuse(scenario.refusal);

    const message: StoredMessage = {
      ...base,
      sid: sid("SM"),
      accepted: true,
      status: "queued",
      dateSent: null,
      chain: Promise.resolve(),
    };
    sends.push(message);
    messages.set(message.sid, message);
    for (const step of scenario.kind === "accepted" ? scenario.steps : []) {
      later(step.afterMs, () => advance(message, step));
    }
    return message;
  }

  /** GET IncomingPhoneNumbers.json, optionally filtered by PhoneNumber: one page with every match. */
  function listIncomingNumbers(url: URL) {
    const wanted = url.searchParams.get("PhoneNumber");
    const numbers = wanted === null ? SANDBOX_NUMBER_RANGE.filter(ownsNumber) : ownsNumber(wanted) ? [wanted] : [];
    const uri = `/${API_VERSION}/Accounts/${accountSid}/IncomingPhoneNumbers.json`;
    return {
      incoming_phone_numbers: numbers.map((e164) => ({
        account_sid: accountSid,
        api_version: API_VERSION,
        capabilities: { voice: true, sms: true, mms: false, fax: false },
        friendly_name: e164,
        phone_number: e164,
        sid: `PN${createHash("md5").update(e164).digest("hex")}`,
        status: "in-use",
        uri: `${uri.replace(".json", "")}/PN${createHash("md5").update(e164).digest("hex")}.json`,
      })),
      end: Math.max(numbers.length - 1, 0),
      first_page_uri: `${uri}?PageSize=50&Page=0`,
      next_page_uri: null,
      page: 0,
      page_size: 50,
      previous_page_uri: null,
      start: 0,
      uri,
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://sandbox");
    const path = url.pathname;
    const route = path.match(/^\/2010-04-01\/Accounts\/([^/]+)\/(Messages|IncomingPhoneNumbers)(?:\/([^/]+))?\.json$/);
    if (!route) throw new TwilioHttpError(404, 20404, `The requested resource ${path} was not found`);
    if (!authorized(req.headers.authorization) || route[1] !== accountSid) {
      res.setHeader("WWW-Authenticate", 'Basic realm="Twilio API"');
      throw new TwilioHttpError(401, 20003, "Authenticate");
    }
    if (route[2] === "IncomingPhoneNumbers") {
      if (route[3] === undefined && req.method === "GET") return send(res, 200, listIncomingNumbers(url));
      throw new TwilioHttpError(405, 20004, "Method not allowed");
    }
    const messageSid = route[3];
    if (messageSid === undefined && req.method === "POST") {
      const message = createMessage(new URLSearchParams(await readBody(req)));
      return send(res, 201, messageJson(message));
    }
    if (messageSid !== undefined && req.method === "GET") {
      const message = messages.get(messageSid);
      if (!message) throw new TwilioHttpError(404, 20404, `The requested resource ${path} was not found`);
      return send(res, 200, messageJson(message));
    }
    throw new TwilioHttpError(405, 20004, "Method not allowed");
  }

  function authorized(header: string | undefined) {
    if (!header?.startsWith("Basic ")) return false;
    const expected = Buffer.from(`${accountSid}:${authToken}`).toString("base64");
    return header.slice("Basic ".length).trim() === expected;
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const e =
        error instanceof TwilioHttpError
          ? error
          : new TwilioHttpError(500, 20500, `Internal server error: ${(error as Error).message}`);
      send(res, e.httpStatus, {
        code: e.code,
        message: e.message,
        more_info: `https://www.twilio.com/docs/errors/${e.code}`,
        status: e.httpStatus,
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port, address: host } = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  return {
    url,
    accountSid,
    sends,
    callbacks,
    async placeCall(call) {
      const callSid = call.callSid ?? sid("CA");
      const params: Record<string, string> = {
        AccountSid: accountSid,
        ApiVersion: API_VERSION,
        CallSid: callSid,
        CallStatus: call.callStatus,
        CallDuration: String(call.durationSeconds ?? 0),
        Called: call.to,
        Caller: call.from,
        From: call.from,
        To: call.to,
        Direction: "inbound",
        Timestamp: rfc2822(new Date()),
        CallbackSource: "call-progress-events",
        SequenceNumber: "0",
        ...(call.answeredBy !== undefined ? { AnsweredBy: call.answeredBy } : {}),
      };
      const work = post("voice-status", call.voiceStatusCallback, params);
      track(work.then(() => undefined));
      const record = await work;
      return { callSid, status: record.responseStatus, error: record.error };
    },
    refuseNextSend(refusal) {
      refusals.push(refusal);
    },
    async whenIdle() {
      while (pending.size > 0) await Promise.all(pending);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const cancel of [...cancels]) cancel();
      aborter.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Twilio's ContentVariables: a JSON object of non-empty strings (numbers are accepted as text). */
function parseContentVariables(text: string): Record<string, string> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
  const variables: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if ((typeof value !== "string" && typeof value !== "number") || String(value) === "") return null;
    variables[key] = String(value);
  }
  return variables;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new TwilioHttpError(413, 20001, "Request body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, status: number, body: unknown) {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(json),
  });
  res.end(json);
}
