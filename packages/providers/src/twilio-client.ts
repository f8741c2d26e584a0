// One Twilio REST client, shared by the messaging and number adapters: the SDK builds,
// authenticates and parses every request; only the host it reaches can change (the local
// Twilio sandbox). Its failures become ProviderErrors, which say when Twilio asked to wait
// (Retry-After) and when a request got no answer, so Twilio may have acted on it.
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import twilio from "twilio";
import type RequestClient from "twilio/lib/base/RequestClient.js";
import type { ProviderError } from "./messaging-provider.ts";
import { classifyTwilioError, describeTwilioError } from "./twilio-errors.ts";

export interface TwilioMessagingOptions {
  accountSid: string;
  authToken: string;
  /**
   * Where Twilio's REST API is, when not at https://api.twilio.com: the local Twilio sandbox
   * (`http://127.0.0.1:<port>`). Every request the SDK builds keeps its path and query.
   */
  baseUrl?: string;
  /**
   * How long a request may wait for Twilio's answer (TWILIO_REQUEST_TIMEOUT_MS). A send that
   * times out is reported with `outcomeUnknown`: Twilio may have accepted it.
   */
  timeoutMs?: number;
}

/** Twilio answers a create in well under a second; 15 s covers its slow moments without holding a step long. */
export const DEFAULT_TWILIO_TIMEOUT_MS = 15_000;

// Asked of the global provider each time: a provider registered later (a restart in the same process) is used.
const tracer = () => trace.getTracer("@callflow/providers");

/** Twilio's resource ids (AC…, SM…, PN…: two letters and 32 hex digits) in a path, as one placeholder. */
const pathTemplate = (path: string) => path.replace(/\/[A-Z]{2}[0-9a-fA-F]{32}(?=[/.]|$)/g, "/{Sid}");

/**
 * The SDK's HTTP client with a client span around each request (method, host, path with
 * the ids in it, status; never the query or body, which hold phone numbers and message text).
 * The span is the active one's child: a function step's, when a step sends.
 */
class TracedRequestClient extends twilio.RequestClient {
  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    const url = new URL(opts.uri);
    const method = String(opts.method).toUpperCase();
    const span = tracer().startSpan(`Twilio ${method} ${pathTemplate(url.pathname)}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        "http.request.method": method,
        "server.address": url.hostname,
        "url.path": url.pathname,
        ...(url.port ? { "server.port": Number(url.port) } : {}),
      },
    });
    // The span ends on a side branch: the SDK gets its own promise back, settled as before.
    const pending = super.request(opts);
    pending.then(
      (response) => {
        span.setAttribute("http.response.status_code", response.statusCode);
        const sid = (response.body as { sid?: unknown } | undefined)?.sid;
        if (typeof sid === "string" && sid.length <= 64) span.setAttribute("twilio.sid", sid);
        if (response.statusCode >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      },
      (error: unknown) => {
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: String((error as Error)?.message ?? error).slice(0, 200),
        });
        span.end();
      },
    );
    return pending;
  }
}

/**
 * The SDK's own HTTP client, so the SDK still builds, authenticates and parses every request,
 * with two changes (and traced). The origin can be swapped (the local sandbox); swapping after the SDK has
 * applied TWILIO_EDGE / TWILIO_REGION keeps those settings from sending sandbox traffic
 * elsewhere. And a refusal keeps Twilio's Retry-After, which the SDK's exceptions drop.
 */
class CallflowRequestClient extends TracedRequestClient {
  readonly #base: URL | null;

  constructor(baseUrl: string | undefined, options: RequestClient.RequestClientOptions) {
    super(options);
    this.#base = baseUrl ? new URL(baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`) : null;
  }

  override async request<TData>(opts: RequestClient.RequestOptions<TData>) {
    let uri = opts.uri;
    if (this.#base) {
      const original = new URL(opts.uri);
      uri = new URL(`${original.pathname.replace(/^\//, "")}${original.search}`, this.#base).href;
    }
    const response = await super.request({ ...opts, uri });
    const retryAfter: unknown = response.headers?.["retry-after"];
    if (response.statusCode >= 400 && typeof retryAfter === "string") {
      // The SDK's own exception for the refusal, with the header it has no field for.
      throw Object.assign(new twilio.RestException(response), { retryAfter });
    }
    return response;
  }
}

export function createTwilioClient(options: TwilioMessagingOptions) {
  // No autoRetry: a retry belongs to the workflow engine, which knows whether a send already went out.
  const clientOptions = { timeout: options.timeoutMs ?? DEFAULT_TWILIO_TIMEOUT_MS, autoRetry: false };
  const client = twilio(options.accountSid, options.authToken, {
    ...clientOptions,
    httpClient: new CallflowRequestClient(options.baseUrl, clientOptions),
  });
  return { client, where: options.baseUrl ?? "https://api.twilio.com" };
}

/**
 * Network errors that mean the request never left: nothing reached Twilio, so sending again
 * cannot send twice. Any other failure without an answer (a timeout, a reset after the request
 * was written, an error not named here) may have come after Twilio accepted it.
 */
const NOT_SENT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ERR_INVALID_URL",
]);

/** Retry-After as seconds: a number of seconds or an HTTP date (RFC 9110 10.2.3); null when unreadable. */
export function retryAfterSeconds(header: string, now = Date.now()): number | null {
  const value = header.trim();
  if (value.length > 64) return null;
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * Any failure of an SDK call as a ProviderError. Three shapes reach here: Twilio answered
 * with an error (RestException, or TwilioServiceException for RFC 9457 bodies; both carry
 * `status` and `code`), the request never got an answer (an axios error without a response:
 * refused, reset, timed out), or the SDK refused the input before sending.
 */
export function toProviderError(error: unknown, where: string): ProviderError {
  const e = (typeof error === "object" && error !== null ? error : {}) as {
    isAxiosError?: boolean;
    status?: unknown;
    code?: unknown;
    message?: unknown;
    retryAfter?: unknown;
  };
  const text = typeof e.message === "string" && e.message !== "" ? e.message : String(error);
  if (e.isAxiosError === true) {
    const cause = typeof e.code === "string" ? e.code : text;
    if (typeof e.code === "string" && NOT_SENT_CODES.has(e.code)) {
      return { code: null, kind: "retryable", message: `Could not reach Twilio at ${where} (${cause}).` };
    }
    const message = `Twilio at ${where} did not answer (${cause}); it may have acted on the request.`;
    return { code: null, kind: "retryable", message, outcomeUnknown: true };
  }
  if (typeof e.status === "number") {
    const code = typeof e.code === "number" ? e.code : null;
    const twilioSays = text.startsWith("[HTTP") ? "" : ` Twilio said: "${text}"`;
    const reason = code === null ? `Twilio answered HTTP ${e.status}.` : describeTwilioError(code);
    const wait = typeof e.retryAfter === "string" ? retryAfterSeconds(e.retryAfter) : null;
    return {
      code,
      kind: classifyTwilioError(code, e.status),
      message: `${reason}${twilioSays}`,
      ...(wait !== null ? { retryAfterSeconds: wait } : {}),
    };
  }
  return { code: null, kind: "permanent", message: `The Twilio request could not be made: ${text}` };
}
