// Local mode's stand-in for Twilio: an HTTP server speaking the part of Twilio's REST API
// CallFlow uses (Messages, IncomingPhoneNumbers, Twilio-shaped errors), which posts the
// signed callbacks Twilio would: message statuses by the scenario rules of
// twilio-sandbox-scenarios.ts, and whole incoming calls run through each number's Voice URL.
// By concern: twilio-sandbox-messages.ts, -numbers.ts, -calls.ts (with -twiml.ts), -callbacks.ts.
import { readFileSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createCallbackPoster, createScheduler, type SandboxCallback } from "./twilio-sandbox-callbacks.ts";
import {
  createCallRunner,
  type PlaceCallOptions,
  type SandboxCall,
  type SandboxCallScenario,
  sandboxCallScenarios,
} from "./twilio-sandbox-calls.ts";
import {
  E164,
  isAuthorized,
  methodNotAllowed,
  notFound,
  readBody,
  sendError,
  sendJson,
  TwilioHttpError,
} from "./twilio-sandbox-http.ts";
import { createMessageStore, type SandboxMessage } from "./twilio-sandbox-messages.ts";
import { createNumberStore, isSandboxAccountNumber, type SandboxNumber } from "./twilio-sandbox-numbers.ts";
import {
  defaultSandboxTiming,
  type SandboxMessageStatus,
  type SandboxRefusal,
  type SandboxSendFault,
  type SandboxTiming,
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
  /** Where to write the sandbox's address while it runs, for tools in other processes (simulate:call). */
  addressFile?: string;
}

export interface TwilioSandbox {
  /** Base URL of the fake REST API, e.g. http://127.0.0.1:41234: the adapter's `baseUrl`. */
  readonly url: string;
  readonly accountSid: string;
  /** Every create request, in arrival order. */
  readonly sends: readonly SandboxMessage[];
  /** Every request to a webhook, in the order it was made. */
  readonly callbacks: readonly SandboxCallback[];
  /** Every call placed, with its requests. */
  readonly calls: readonly SandboxCall[];
  /**
   * A caller dials one of the account's numbers: the sandbox runs the call through the
   * number's Voice URL and callbacks, as `scenario` says the people on the line behave, and
   * resolves once every callback of the call was posted.
   */
  placeCall(options: PlaceCallOptions): Promise<SandboxCall>;
  /** A number's configuration as set through the API; null when the account does not own it. */
  number(e164: string): SandboxNumber | null;
  /** Posts a recorded request again, signed as before: Twilio's retry of a webhook. */
  redeliver(callback: SandboxCallback): Promise<SandboxCallback>;
  /** The next create request is refused with this error (for 429/5xx and other refusals). */
  refuseNextSend(refusal: SandboxRefusal): void;
  /** Status callbacks of messages to this number (E.164) are lost: Twilio's record moves on, nothing is posted. */
  loseStatusCallbacksTo(to: string): void;
  /**
   * Twilio's record of a message changes with no callback (late, or backwards); what a fetch then
   * answers. The message's scripted statuses still to come no longer happen.
   */
  setMessageStatus(sid: string, status: SandboxMessageStatus, errorCode?: number): void;
  /** The next create request gets no answer: it hangs, or the connection drops (see SandboxSendFault). */
  faultNextSend(fault: SandboxSendFault): void;
  /** Resolves once every scheduled status change has happened and its callback was posted. */
  whenIdle(): Promise<void>;
  /** Closes the server and cancels pending status changes and callbacks. */
  stop(): Promise<void>;
}

/** What `addressFile` holds. */
export interface TwilioSandboxAddress {
  url: string;
  accountSid: string;
  pid: number;
}

/** Where local mode keeps the running sandbox's address: beside the embedded database. */
export const twilioSandboxAddressFile = (dataDir: string) => join(dataDir, "twilio-sandbox.json");

/** The running sandbox's address from its file; null when no sandbox wrote one (or it is unreadable). */
export function readTwilioSandboxAddress(file: string): TwilioSandboxAddress | null {
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<TwilioSandboxAddress>;
    return typeof parsed.url === "string" && typeof parsed.accountSid === "string" && typeof parsed.pid === "number"
      ? { url: parsed.url, accountSid: parsed.accountSid, pid: parsed.pid }
      : null;
  } catch {
    return null;
  }
}

const ROUTE = /^\/2010-04-01\/Accounts\/([^/]+)\/(Messages|IncomingPhoneNumbers)(?:\/([^/]+))?\.json$/;
/** Not Twilio's API: what a caller's phone does. The sandbox's own route, for tools (simulate:call). */
const PLACE_CALL_PATH = "/sandbox/calls";

export async function startTwilioSandbox(options: TwilioSandboxOptions): Promise<TwilioSandbox> {
  const { accountSid, authToken } = options;
  const callbacks: SandboxCallback[] = [];
  const aborter = new AbortController();
  let stopped = false;
  let url = "";
  const scheduler = createScheduler();
  const poster = createCallbackPoster({
    authToken,
    log: callbacks,
    signal: aborter.signal,
    isStopped: () => stopped,
  });
  const messages = createMessageStore({
    accountSid,
    timing: { ...defaultSandboxTiming, ...options.timing },
    poster,
    scheduler,
  });
  const numbers = createNumberStore({ accountSid, ownsNumber: options.ownsNumber ?? isSandboxAccountNumber });
  const calls = createCallRunner({ accountSid, poster, baseUrl: () => url });

  function placeCall(placed: PlaceCallOptions): Promise<SandboxCall> {
    if (!E164.test(placed.from)) throw new TwilioHttpError(400, 21212, `The caller ${placed.from} is not E.164`);
    if (!E164.test(placed.to)) throw new TwilioHttpError(400, 21211, `The number called ${placed.to} is not E.164`);
    if (!sandboxCallScenarios.includes(placed.scenario)) {
      throw new TwilioHttpError(
        400,
        21200,
        `Scenario ${JSON.stringify(placed.scenario)} is not one of ${sandboxCallScenarios.join(", ")}`,
      );
    }
    const number = numbers.find(placed.to);
    if (!number) throw new TwilioHttpError(404, 21211, `${placed.to} is not a number of account ${accountSid}`);
    const work = calls.place(placed, number);
    scheduler.track(work);
    return work;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const requestUrl = new URL(req.url ?? "/", "http://sandbox");
    const path = requestUrl.pathname;
    const route = path.match(ROUTE);
    if (!route && path !== PLACE_CALL_PATH) throw notFound(path);
    if (!isAuthorized(req.headers.authorization, accountSid, authToken) || (route && route[1] !== accountSid)) {
      throw new TwilioHttpError(401, 20003, "Authenticate");
    }
    if (!route) {
      if (req.method !== "POST") throw methodNotAllowed();
      const form = new URLSearchParams(await readBody(req));
      const call = await placeCall({
        from: form.get("From") ?? "",
        to: form.get("To") ?? "",
        scenario: (form.get("Scenario") ?? "") as SandboxCallScenario,
        ...seconds(form, "TalkSeconds", "talkSeconds"),
        ...seconds(form, "MessageSeconds", "messageSeconds"),
      });
      return sendJson(res, 200, call);
    }
    const [, , resource, sid] = route;
    if (resource === "IncomingPhoneNumbers") {
      if (sid === undefined && req.method === "GET") return sendJson(res, 200, numbers.list(requestUrl));
      if (sid !== undefined && req.method === "GET") return sendJson(res, 200, numbers.fetch(sid));
      if (sid !== undefined && req.method === "POST") {
        return sendJson(res, 200, numbers.update(sid, new URLSearchParams(await readBody(req))));
      }
      throw methodNotAllowed();
    }
    if (sid === undefined && req.method === "POST") {
      const answer = messages.create(new URLSearchParams(await readBody(req)));
      if (answer.kind === "created") return sendJson(res, 201, answer.json);
      // No answer: a hang lasts until the client gives up (or the sandbox stops).
      if (answer.kind === "drop") req.socket.destroy();
      return;
    }
    if (sid !== undefined && req.method === "GET") {
      const message = messages.fetch(sid);
      if (!message) throw notFound(path);
      return sendJson(res, 200, message);
    }
    throw methodNotAllowed();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendError(res, error));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port, address: host } = server.address() as AddressInfo;
  url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  if (options.addressFile) await writeAddress(options.addressFile, { url, accountSid, pid: process.pid });

  return {
    url,
    accountSid,
    sends: messages.sends,
    callbacks,
    calls: calls.calls,
    placeCall: async (placed) => placeCall(placed),
    number: (e164) => numbers.find(e164),
    redeliver: (callback) => poster.redeliver(callback),
    refuseNextSend: (refusal) => messages.refuseNextSend(refusal),
    loseStatusCallbacksTo: (to) => messages.loseStatusCallbacksTo(to),
    setMessageStatus: (sid, status, errorCode) => messages.setStatus(sid, status, errorCode),
    faultNextSend: (fault) => messages.faultNextSend(fault),
    whenIdle: () => scheduler.whenIdle(),
    async stop() {
      if (stopped) return;
      stopped = true;
      scheduler.cancelAll();
      aborter.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (options.addressFile) await rm(options.addressFile, { force: true });
    },
  };
}

function seconds(form: URLSearchParams, parameter: string, field: "talkSeconds" | "messageSeconds") {
  const value = form.get(parameter);
  if (value === null || value === "") return {};
  if (!/^\d{1,5}$/.test(value)) throw new TwilioHttpError(400, 21200, `${parameter} must be a whole number of seconds`);
  return { [field]: Number(value) };
}

/** Written whole (a temporary file, then renamed): a reader never sees half of it. */
async function writeAddress(file: string, address: TwilioSandboxAddress) {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(address));
  await rename(temporary, file);
}
