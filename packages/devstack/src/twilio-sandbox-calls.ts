// Calls to the sandbox's numbers, run the way Twilio runs an incoming call: a signed request to
// the number's Voice URL, the TwiML it answers run verb by verb (twilio-sandbox-twiml.ts), the
// Dial and Record actions requested in turn with Twilio's parameter names, then the number's
// final status callback and the recording status callbacks. What the people on the line do is
// the scenario the caller chose; time on the line is counted, not waited for.
import type { CallbackPoster, SandboxCallback } from "./twilio-sandbox-callbacks.ts";
import { API_VERSION, newSid, rfc2822 } from "./twilio-sandbox-http.ts";
import type { SandboxNumber } from "./twilio-sandbox-numbers.ts";
import { parseTwiml, TwimlError, type TwimlVerb } from "./twilio-sandbox-twiml.ts";

/**
 * What happens on the line:
 *   answered             the business's phone picks up (a Dial), and they talk
 *   no-answer            nobody picks up; at a voicemail greeting the caller stays silent after the beep
 *   busy                 the business's phone is busy; at a greeting the caller hangs up before the beep
 *   voicemail            nobody picks up; the caller leaves a message after the beep
 *   hang-up-before-beep  nobody picks up; the caller hangs up during the greeting
 */
export const sandboxCallScenarios = ["answered", "no-answer", "busy", "voicemail", "hang-up-before-beep"] as const;

export type SandboxCallScenario = (typeof sandboxCallScenarios)[number];

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
  /** The caller, E.164. */
  from: string;
  /** The business's number, E.164: one of the sandbox account's numbers. */
  to: string;
  scenario: SandboxCallScenario;
  /** How long the business and the caller talk when it answers. Default 95 s. */
  talkSeconds?: number;
  /** How long the caller's message lasts after the beep. Default 23 s. */
  messageSeconds?: number;
}

/** What Twilio's debugger would show: 11200 a webhook that failed, 12100/12200 TwiML it could not run. */
export interface SandboxCallError {
  code: number;
  message: string;
  url: string | null;
}

export interface SandboxCall {
  callSid: string;
  from: string;
  to: string;
  scenario: SandboxCallScenario;
  /** The final CallStatus. */
  status: SandboxCallStatus;
  /** Seconds on the line, counted. */
  durationSeconds: number;
  /** The forwarded leg, when the TwiML dialled. */
  dial: { callSid: string; number: string; status: string; durationSeconds: number } | null;
  /** The message left after the beep. */
  recording: { sid: string; durationSeconds: number; url: string } | null;
  errors: SandboxCallError[];
  /** This call's requests to webhooks, in the order they were made. */
  callbacks: SandboxCallback[];
}

/** Twilio stops a call whose TwiML keeps redirecting; so does the sandbox. */
const MAX_DOCUMENTS = 20;
const RING_BEFORE_ANSWER_SECONDS = 4;

type CallerAtGreeting = "speaks" | "silent" | "hangs-up";
const callerAtGreeting = (scenario: SandboxCallScenario): CallerAtGreeting =>
  scenario === "voicemail" ? "speaks" : scenario === "no-answer" ? "silent" : "hangs-up";

interface Document {
  url: string;
  verbs: TwimlVerb[];
}

/** What running a verb leads to: the next verb, a new document (an action's answer), or the call's end. */
type Step = "next" | "end" | Document;

interface CallRun {
  call: SandboxCall;
  accountSid: string;
  poster: CallbackPoster;
  /** The sandbox's own URL: recordings' URLs point there. */
  baseUrl: string;
  /** The parameters of every request about the call. */
  common: Record<string, string>;
  /** Sent once the call is over (recording status callbacks). */
  afterEnd: Array<() => Promise<void>>;
  talkSeconds: number;
  messageSeconds: number;
}

export interface CallRunner {
  readonly calls: readonly SandboxCall[];
  place(options: PlaceCallOptions, number: SandboxNumber): Promise<SandboxCall>;
}

export function createCallRunner(options: {
  accountSid: string;
  poster: CallbackPoster;
  /** The sandbox's own URL, known once it listens. */
  baseUrl: () => string;
}): CallRunner {
  const calls: SandboxCall[] = [];
  return {
    calls,
    async place(placed, number) {
      const call: SandboxCall = {
        callSid: newSid("CA"),
        from: placed.from,
        to: placed.to,
        scenario: placed.scenario,
        status: "completed",
        durationSeconds: 0,
        dial: null,
        recording: null,
        errors: [],
        callbacks: [],
      };
      calls.push(call);
      const run: CallRun = {
        call,
        accountSid: options.accountSid,
        poster: options.poster,
        baseUrl: options.baseUrl(),
        common: {
          AccountSid: options.accountSid,
          ApiVersion: API_VERSION,
          CallSid: call.callSid,
          Called: placed.to,
          Caller: placed.from,
          Direction: "inbound",
          From: placed.from,
          To: placed.to,
        },
        afterEnd: [],
        talkSeconds: placed.talkSeconds ?? 95,
        messageSeconds: placed.messageSeconds ?? 23,
      };
      if (!number.voiceUrl || number.voiceMethod !== "POST") {
        // Nothing to run: Twilio cannot handle the call.
        call.status = "failed";
        call.errors.push({ code: 11200, message: "the number has no Voice URL to POST to", url: null });
      } else {
        await runFlow(run, number.voiceUrl);
      }
      await finalStatus(run, number);
      for (const send of run.afterEnd) await send();
      return call;
    },
  };
}

async function request(run: CallRun, kind: SandboxCallback["kind"], url: string, extra: Record<string, string>) {
  const record = await run.poster.post(kind, url, { ...run.common, ...extra });
  run.call.callbacks.push(record);
  if (record.error) run.call.errors.push({ code: 11200, message: `HTTP retrieval failure: ${record.error}`, url });
  return record;
}

/** Requests TwiML and reads it; null (with the error recorded) when Twilio could not run it. */
async function fetchTwiml(
  run: CallRun,
  kind: SandboxCallback["kind"],
  url: string,
  extra: Record<string, string>,
): Promise<Document | null> {
  const record = await request(run, kind, url, extra);
  if (record.error) return null;
  const type = record.responseContentType ?? "";
  if (!/^(text|application)\/xml\b/i.test(type)) {
    run.call.errors.push({ code: 12300, message: `Invalid Content-Type: ${type || "none"}`, url });
    return null;
  }
  try {
    return { url, verbs: parseTwiml(record.responseBody ?? "", url) };
  } catch (error) {
    if (!(error instanceof TwimlError)) throw error;
    run.call.errors.push({ code: error.code, message: error.message, url });
    return null;
  }
}

/** Runs documents until the call ends: the verbs in order, an action's answer replacing the rest. */
async function runFlow(run: CallRun, voiceUrl: string) {
  let document = await fetchTwiml(run, "voice-url", voiceUrl, { CallStatus: "ringing" });
  for (let documents = 1; document; documents++) {
    if (documents > MAX_DOCUMENTS) {
      run.call.errors.push({ code: 12200, message: "the TwiML kept leading to more TwiML", url: document.url });
      return;
    }
    let next: Document | null = null;
    for (const [index, verb] of document.verbs.entries()) {
      const step = await runVerb(run, verb, document.verbs[index + 1]?.verb === "Record");
      if (step === "end") return;
      if (step !== "next") {
        next = step;
        break;
      }
    }
    document = next;
  }
}

async function runVerb(run: CallRun, verb: TwimlVerb, beforeRecord: boolean): Promise<Step> {
  switch (verb.verb) {
    case "Say":
      // About 15 characters a second of speech.
      run.call.durationSeconds += Math.ceil(verb.text.length / 15);
      return beforeRecord && callerAtGreeting(run.call.scenario) === "hangs-up" ? "end" : "next";
    case "Dial":
      return dial(run, verb);
    case "Record":
      return record(run, verb);
    case "Hangup":
      return "end";
  }
}

async function dial(run: CallRun, verb: Extract<TwimlVerb, { verb: "Dial" }>): Promise<Step> {
  const { scenario } = run.call;
  const answered = scenario === "answered" && verb.timeoutSeconds > RING_BEFORE_ANSWER_SECONDS;
  const status = answered ? "completed" : scenario === "busy" ? "busy" : "no-answer";
  const talk = answered ? run.talkSeconds : 0;
  const ring = answered ? RING_BEFORE_ANSWER_SECONDS : status === "busy" ? 1 : verb.timeoutSeconds;
  run.call.durationSeconds += ring + talk;
  const leg = { callSid: newSid("CA"), number: verb.number, status, durationSeconds: talk };
  run.call.dial = leg;
  if (!verb.action) return "next";
  const next = await fetchTwiml(run, "dial-action", verb.action, {
    CallStatus: "in-progress",
    DialCallSid: leg.callSid,
    DialCallStatus: status,
    DialCallDuration: String(talk),
    DialBridged: String(answered),
  });
  return next ?? "end";
}

async function record(run: CallRun, verb: Extract<TwimlVerb, { verb: "Record" }>): Promise<Step> {
  const caller = callerAtGreeting(run.call.scenario);
  // Without a greeting first, a caller who would hang up during one hangs up at the beep.
  if (caller === "hangs-up") return "end";
  const sid = newSid("RE");
  const url = `${run.baseUrl}/${API_VERSION}/Accounts/${run.accountSid}/Recordings/${sid}`;
  if (caller === "silent") {
    // An empty recording: Twilio requests no action and goes on to the next verb.
    run.call.durationSeconds += verb.timeoutSeconds;
    recordingStatusLater(run, verb, { sid, url: "", durationSeconds: 0 }, "absent");
    return "next";
  }
  const durationSeconds = Math.min(run.messageSeconds, verb.maxLengthSeconds);
  run.call.durationSeconds += durationSeconds;
  run.call.recording = { sid, durationSeconds, url };
  recordingStatusLater(run, verb, run.call.recording, "completed");
  // The caller hangs up after the message: Twilio still requests the action, and ignores its TwiML.
  if (verb.action) {
    await request(run, "record-action", verb.action, {
      CallStatus: "completed",
      RecordingSid: sid,
      RecordingUrl: url,
      RecordingDuration: String(durationSeconds),
      Digits: "hangup",
    });
  }
  return "end";
}

/** The recording status callback, posted once the call is over (the recording is processed then). */
function recordingStatusLater(
  run: CallRun,
  verb: Extract<TwimlVerb, { verb: "Record" }>,
  recording: { sid: string; url: string; durationSeconds: number },
  status: "completed" | "absent",
) {
  const callbackUrl = verb.recordingStatusCallback;
  if (!callbackUrl || !verb.recordingStatusCallbackEvents.includes(status)) return;
  const startedAt = rfc2822(new Date());
  run.afterEnd.push(async () => {
    const sent = await run.poster.post("recording-status", callbackUrl, {
      AccountSid: run.accountSid,
      CallSid: run.call.callSid,
      RecordingSid: recording.sid,
      RecordingUrl: recording.url,
      RecordingStatus: status,
      RecordingDuration: String(recording.durationSeconds),
      RecordingChannels: "1",
      RecordingStartTime: startedAt,
      RecordingSource: "RecordVerb",
      ErrorCode: "0",
    });
    run.call.callbacks.push(sent);
  });
}

async function finalStatus(run: CallRun, number: SandboxNumber) {
  if (!number.statusCallback || number.statusCallbackMethod !== "POST") return;
  await request(run, "voice-status", number.statusCallback, {
    CallStatus: run.call.status,
    CallDuration: String(run.call.durationSeconds),
    Timestamp: rfc2822(new Date()),
    CallbackSource: "call-progress-events",
    SequenceNumber: "0",
  });
}
