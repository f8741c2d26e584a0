// What the Twilio sandbox sends to webhooks: every request signed as Twilio signs it
// (X-Twilio-Signature over the URL and the form), recorded with its answer, never throwing;
// and the timers behind later callbacks, which stop() cancels.
import { randomUUID } from "node:crypto";
import twilio from "twilio";

const CALLBACK_TIMEOUT_MS = 15_000;
/** Twilio reads at most 64 kB of TwiML. */
const MAX_TWIML_BYTES = 64 * 1024;

/** One request the sandbox made to a webhook (or tried to). */
export interface SandboxCallback {
  kind: "message-status" | "voice-url" | "dial-action" | "record-action" | "voice-status" | "recording-status";
  url: string;
  params: Record<string, string>;
  /** The X-Twilio-Signature header sent. */
  signature: string;
  /** The webhook's HTTP status; null while in flight or when it never answered. */
  responseStatus: number | null;
  /** Why the delivery failed (no answer, or a non-2xx answer); null when it succeeded. */
  error: string | null;
  /** The answer as Twilio reads it (the TwiML of a Voice URL or action); null for status callbacks. */
  responseBody: string | null;
  responseContentType: string | null;
}

/** Kinds whose answer is TwiML that Twilio runs. */
const answeredWithTwiml = new Set<SandboxCallback["kind"]>(["voice-url", "dial-action", "record-action"]);

export interface CallbackPoster {
  post(kind: SandboxCallback["kind"], url: string, params: Record<string, string>): Promise<SandboxCallback>;
  /** Sends a recorded request again, byte for byte, as Twilio's retry does. */
  redeliver(callback: SandboxCallback): Promise<SandboxCallback>;
}

export function createCallbackPoster(options: {
  authToken: string;
  /** Every request, in the order it was made. */
  log: SandboxCallback[];
  signal: AbortSignal;
  isStopped: () => boolean;
}): CallbackPoster {
  async function deliver(record: SandboxCallback): Promise<SandboxCallback> {
    options.log.push(record);
    if (options.isStopped()) {
      record.error = "the sandbox was stopped";
      return record;
    }
    try {
      const response = await fetch(record.url, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          "X-Twilio-Signature": record.signature,
          "I-Twilio-Idempotency-Token": randomUUID(),
          "User-Agent": "TwilioProxy/1.1",
        },
        body: new URLSearchParams(record.params).toString(),
        signal: AbortSignal.any([options.signal, AbortSignal.timeout(CALLBACK_TIMEOUT_MS)]),
      });
      const body = await response.arrayBuffer();
      record.responseStatus = response.status;
      if (answeredWithTwiml.has(record.kind)) {
        record.responseBody = Buffer.from(body.slice(0, MAX_TWIML_BYTES + 1)).toString("utf8");
        record.responseContentType = response.headers.get("content-type");
      }
      if (!response.ok) record.error = `the webhook answered HTTP ${response.status}`;
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      record.error = `no answer from the webhook: ${cause ?? (error as Error).message}`;
    }
    return record;
  }

  return {
    post(kind, url, params) {
      const signature = twilio.getExpectedTwilioSignature(options.authToken, url, params);
      return deliver(blankRecord(kind, url, params, signature));
    },
    redeliver(callback) {
      return deliver(blankRecord(callback.kind, callback.url, callback.params, callback.signature));
    },
  };
}

const blankRecord = (
  kind: SandboxCallback["kind"],
  url: string,
  params: Record<string, string>,
  signature: string,
): SandboxCallback => ({
  kind,
  url,
  params: { ...params },
  signature,
  responseStatus: null,
  error: null,
  responseBody: null,
  responseContentType: null,
});

export interface Scheduler {
  /** Counts `work` as pending until it settles. */
  track(work: Promise<unknown>): void;
  /** Runs `fn` after `ms` unless cancelled first. */
  later(ms: number, fn: () => Promise<void>): void;
  /** Resolves once nothing is pending. */
  whenIdle(): Promise<void>;
  /** Cancels every timer not yet run. */
  cancelAll(): void;
}

export function createScheduler(): Scheduler {
  const cancels = new Set<() => void>();
  const pending = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    pending.add(settled);
    void settled.finally(() => pending.delete(settled));
  };
  return {
    track,
    later(ms, fn) {
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
    },
    async whenIdle() {
      while (pending.size > 0) await Promise.all(pending);
    },
    cancelAll() {
      for (const cancel of [...cancels]) cancel();
    },
  };
}
