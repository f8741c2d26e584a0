import twilio from "twilio";
import type RequestClient from "twilio/lib/base/RequestClient.js";
import {
  type FetchedMessage,
  type MessagingProvider,
  type ProviderError,
  ProviderRequestError,
  type SendResult,
} from "./messaging-provider.ts";
import { classifyTwilioError, describeTwilioError } from "./twilio-errors.ts";
import { mapTwilioMessageStatus } from "./twilio-status.ts";

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

/**
 * The SDK's own HTTP client with the origin swapped: the SDK still builds, authenticates and
 * parses every request, only the host it reaches changes. Swapping after the SDK has applied
 * TWILIO_EDGE / TWILIO_REGION keeps those settings from sending sandbox traffic elsewhere.
 */
class RebasedRequestClient extends twilio.RequestClient {
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

const whatsapp = (e164: string) => `whatsapp:${e164.replace(/^whatsapp:/, "")}`;

export function createTwilioMessaging(options: TwilioMessagingOptions): MessagingProvider {
  // No autoRetry: a retry belongs to the workflow engine, which knows whether a send already went out.
  const clientOptions = { timeout: options.timeoutMs ?? 15_000, autoRetry: false };
  const client = twilio(options.accountSid, options.authToken, {
    ...clientOptions,
    ...(options.baseUrl ? { httpClient: new RebasedRequestClient(options.baseUrl, clientOptions) } : {}),
  });
  const where = options.baseUrl ?? "https://api.twilio.com";

  async function create(params: Parameters<typeof client.messages.create>[0]): Promise<SendResult> {
    try {
      const message = await client.messages.create(params);
      // A created message is at least accepted, whatever new status name Twilio answers with.
      return { ok: true, sid: message.sid, status: mapTwilioMessageStatus(message.status) ?? "accepted" };
    } catch (error) {
      return { ok: false, error: toProviderError(error, where) };
    }
  }

  return {
    sendWhatsApp: (input) =>
      create({
        to: whatsapp(input.to),
        from: whatsapp(input.from),
        contentSid: input.contentSid,
        contentVariables: JSON.stringify(input.contentVariables),
        statusCallback: input.statusCallback,
      }),

    sendSms: (input) =>
      create({ to: input.to, from: input.from, body: input.body, statusCallback: input.statusCallback }),

    async fetchMessage(sid): Promise<FetchedMessage> {
      let message: Awaited<ReturnType<ReturnType<typeof client.messages>["fetch"]>>;
      try {
        message = await client.messages(sid).fetch();
      } catch (error) {
        throw new ProviderRequestError(toProviderError(error, where));
      }
      const status = mapTwilioMessageStatus(message.status);
      if (status === null) {
        throw new ProviderRequestError({
          code: null,
          kind: "permanent",
          message: `Twilio reports message ${sid} as "${message.status}", a status CallFlow does not track for outbound messages.`,
        });
      }
      return { sid: message.sid, status, errorCode: message.errorCode ?? null };
    },
  };
}

/**
 * Any failure of an SDK call as a ProviderError. Three shapes reach here: Twilio answered
 * with an error (RestException, or TwilioServiceException for RFC 9457 bodies; both carry
 * `status` and `code`), the request never got an answer (an axios error without a response:
 * refused, reset, timed out), or the SDK refused the input before sending.
 */
function toProviderError(error: unknown, where: string): ProviderError {
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
