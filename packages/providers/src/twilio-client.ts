// One Twilio REST client, shared by the messaging and number adapters: the SDK builds,
// authenticates and parses every request; only the host it reaches can change (the local
// Twilio sandbox). Its failures become ProviderErrors.
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
  /** Per request; a timeout is reported as retryable. Default 15 s. */
  timeoutMs?: number;
}

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
 * The SDK's own HTTP client with the origin swapped: the SDK still builds, authenticates and
 * parses every request, only the host it reaches changes. Swapping after the SDK has applied
 * TWILIO_EDGE / TWILIO_REGION keeps those settings from sending sandbox traffic elsewhere.
 */
class RebasedRequestClient extends TracedRequestClient {
  readonly #base: URL;

  constructor(baseUrl: string, options: RequestClient.RequestClientOptions) {
    super(options);
    this.#base = new URL(baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    const original = new URL(opts.uri);
    const rebased = new URL(`${original.pathname.replace(/^\//, "")}${original.search}`, this.#base);
    return super.request({ ...opts, uri: rebased.href });
  }
}

export function createTwilioClient(options: TwilioMessagingOptions) {
  // A client of our own (traced) takes the SDK's client options itself; the SDK ignores them when one is given.
  // No autoRetry: a retry belongs to the workflow engine, which knows whether a send already went out.
  const clientOptions = { timeout: options.timeoutMs ?? 15_000, autoRetry: false };
  const client = twilio(options.accountSid, options.authToken, {
    ...clientOptions,
    httpClient: options.baseUrl
      ? new RebasedRequestClient(options.baseUrl, clientOptions)
      : new TracedRequestClient(clientOptions),
  });
  return { client, where: options.baseUrl ?? "https://api.twilio.com" };
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
  };
  const text = typeof e.message === "string" && e.message !== "" ? e.message : String(error);
  if (e.isAxiosError === true) {
    // A timeout may come after Twilio accepted the message; the workflow's send record decides.
    const cause = typeof e.code === "string" ? e.code : text;
    return { code: null, kind: "retryable", message: `Could not reach Twilio at ${where} (${cause}).` };
  }
  if (typeof e.status === "number") {
    const code = typeof e.code === "number" ? e.code : null;
    const twilioSays = text.startsWith("[HTTP") ? "" : ` Twilio said: "${text}"`;
    const reason = code === null ? `Twilio answered HTTP ${e.status}.` : describeTwilioError(code);
    return { code, kind: classifyTwilioError(code, e.status), message: `${reason}${twilioSays}` };
  }
  return { code: null, kind: "permanent", message: `The Twilio request could not be made: ${text}` };
}
