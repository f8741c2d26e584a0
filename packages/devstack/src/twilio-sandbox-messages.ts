// The Twilio sandbox's Messages resource: create (checked as Twilio checks it, then accepted
// or refused by the scenario rules of twilio-sandbox-scenarios.ts) and fetch; each accepted
// message then moves through its statuses, posting a signed status callback for each.
import type { CallbackPoster, Scheduler } from "./twilio-sandbox-callbacks.ts";
import { API_VERSION, E164, newSid, rfc2822, TwilioHttpError } from "./twilio-sandbox-http.ts";
import {
  type SandboxChannel,
  type SandboxMessageStatus,
  type SandboxRefusal,
  type SandboxSendFault,
  type SandboxStep,
  type SandboxTiming,
  sandboxErrorMessages,
  sandboxScenario,
} from "./twilio-sandbox-scenarios.ts";

const CONTENT_SID = /^HX[0-9a-fA-F]{32}$/;

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

interface StoredMessage extends SandboxMessage {
  sid: string;
  status: SandboxMessageStatus;
  dateSent: Date | null;
  /** Callbacks of one message are posted one after another, in status order. */
  chain: Promise<void>;
  /** Set by setStatus: the carrier's word replaces the steps still scheduled, which then do nothing. */
  scriptEnded: boolean;
}

/** How the create request is answered: with the message, or not at all (a SandboxSendFault). */
export type CreateAnswer = { kind: "created"; json: Record<string, unknown> } | { kind: "hang" | "drop" };

export interface MessageStore {
  /** Every create request, in arrival order. */
  readonly sends: SandboxMessage[];
  /** POST Messages.json: how to answer it; a refusal is thrown as a TwilioHttpError. */
  create(form: URLSearchParams): CreateAnswer;
  /** GET Messages/{sid}.json; null when there is no such message. */
  fetch(sid: string): Record<string, unknown> | null;
  refuseNextSend(refusal: SandboxRefusal): void;
  /** Status callbacks of messages to this number (E.164) are lost: their statuses change, nothing is posted. */
  loseStatusCallbacksTo(to: string): void;
  /**
   * Twilio's record of the message changes with no callback (a late carrier report, or one that
   * went backwards); its scripted steps still to come are dropped.
   */
  setStatus(sid: string, status: SandboxMessageStatus, errorCode?: number): void;
  faultNextSend(fault: SandboxSendFault): void;
}

export function createMessageStore(options: {
  accountSid: string;
  timing: SandboxTiming;
  poster: CallbackPoster;
  scheduler: Scheduler;
}): MessageStore {
  const { accountSid, timing, poster, scheduler } = options;
  const sends: SandboxMessage[] = [];
  const messages = new Map<string, StoredMessage>();
  const refusals: SandboxRefusal[] = [];
  const losingCallbacksTo = new Set<string>();
  const faults: SandboxSendFault[] = [];

  const address = (message: SandboxMessage, which: "to" | "from") =>
    message.channel === "whatsapp" ? `whatsapp:${message[which]}` : message[which];

  const messageJson = (message: StoredMessage) => ({
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
  });

  function advance(message: StoredMessage, step: SandboxStep) {
    if (message.scriptEnded) return Promise.resolve();
    const now = new Date();
    message.status = step.status;
    message.updatedAt = now;
    if (step.status === "sent") message.dateSent = now;
    if (step.errorCode !== undefined) {
      message.errorCode = step.errorCode;
      message.errorMessage = sandboxErrorMessages[step.errorCode] ?? null;
    }
    const callbackUrl = message.statusCallback;
    if (!callbackUrl || losingCallbacksTo.has(message.to)) return Promise.resolve();
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
      await poster.post("message-status", callbackUrl, params);
    });
    return message.chain;
  }

  function create(form: URLSearchParams): CreateAnswer {
    const base = requestedMessage(form);
    const refuse = (refusal: SandboxRefusal): never => {
      base.errorCode = refusal.code;
      base.errorMessage = refusal.message;
      sends.push(base);
      throw new TwilioHttpError(refusal.httpStatus, refusal.code, refusal.message, refusal.retryAfterSeconds);
    };
    const invalid = invalidRequest(base, form);
    if (invalid) refuse(invalid);
    const injected = refusals.shift();
    if (injected) refuse(injected);
    const fault = faults.shift();
    if (fault?.kind === "hang" && !fault.accepted) {
      // Lost on the way in: Twilio never saw it.
      sends.push(base);
      return { kind: "hang" };
    }

    const scenario = sandboxScenario(base.channel, base.to, timing);
    if (scenario.kind === "refused") refuse(scenario.refusal);

    const message: StoredMessage = {
      ...base,
      sid: newSid("SM"),
      accepted: true,
      status: "queued",
      dateSent: null,
      chain: Promise.resolve(),
      scriptEnded: false,
    };
    sends.push(message);
    messages.set(message.sid, message);
    for (const step of scenario.kind === "accepted" ? scenario.steps : []) {
      scheduler.later(step.afterMs, () => advance(message, step));
    }
    return fault ? { kind: fault.kind } : { kind: "created", json: messageJson(message) };
  }

  return {
    sends,
    create,
    fetch(sid) {
      const message = messages.get(sid);
      return message ? messageJson(message) : null;
    },
    refuseNextSend(refusal) {
      refusals.push(refusal);
    },
    loseStatusCallbacksTo(to) {
      losingCallbacksTo.add(to);
    },
    setStatus(sid, status, errorCode) {
      const message = messages.get(sid);
      if (!message) throw new Error(`the sandbox has no message ${sid}`);
      message.scriptEnded = true;
      message.status = status;
      message.updatedAt = new Date();
      message.errorCode = errorCode ?? null;
      message.errorMessage = errorCode === undefined ? null : (sandboxErrorMessages[errorCode] ?? null);
    },
    faultNextSend(fault) {
      faults.push(fault);
    },
  };
}

function requestedMessage(form: URLSearchParams): SandboxMessage {
  const rawTo = form.get("To") ?? "";
  const rawFrom = form.get("From") ?? "";
  const now = new Date();
  return {
    sid: null,
    channel: rawTo.startsWith("whatsapp:") ? "whatsapp" : "sms",
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
}

/** Twilio's checks of a create request, in its order; sets `contentVariables` when they parse. */
function invalidRequest(base: SandboxMessage, form: URLSearchParams): SandboxRefusal | null {
  const rawTo = form.get("To") ?? "";
  const rawFrom = form.get("From") ?? "";
  const contentVariablesText = form.get("ContentVariables");
  if (!rawTo) return { httpStatus: 400, code: 21604, message: "A 'To' phone number is required." };
  if (!rawFrom) return { httpStatus: 400, code: 21603, message: "A 'From' phone number is required." };
  if (!base.body && !base.contentSid) return { httpStatus: 400, code: 21602, message: "Message body is required." };
  if (!E164.test(base.to)) return { httpStatus: 400, code: 21211, message: `Invalid 'To' Phone Number: ${rawTo}` };
  if (!E164.test(base.from)) {
    return {
      httpStatus: 400,
      code: 21212,
      message: `The 'From' number ${rawFrom} is not a valid phone number, shortcode, or alphanumeric sender ID.`,
    };
  }
  if (rawFrom.startsWith("whatsapp:") !== (base.channel === "whatsapp")) {
    return {
      httpStatus: 400,
      code: 21910,
      message: "Invalid From and To pair. From and To should be of the same channel",
    };
  }
  if (contentVariablesText !== null) {
    if (!base.contentSid) {
      return {
        httpStatus: 400,
        code: 21654,
        message: "ContentSid Required: a ContentSid must be given with ContentVariables.",
      };
    }
    base.contentVariables = parseContentVariables(contentVariablesText);
    if (base.contentVariables === null) {
      return { httpStatus: 400, code: 21656, message: "The ContentVariables Parameter is invalid." };
    }
  }
  if (base.contentSid !== null && !CONTENT_SID.test(base.contentSid)) {
    return { httpStatus: 400, code: 21655, message: "The ContentSid is Invalid." };
  }
  return null;
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
