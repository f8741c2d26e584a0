import type { MessageStatus } from "@callflow/domain";

/**
 * What the workflow does next with a failed request:
 * - retryable: try the same request again later (rate limit, Twilio 5xx, network). The adapter
 *   never retries by itself; the workflow engine does, with its own backoff and limits.
 * - not_on_whatsapp: the recipient cannot get WhatsApp messages; remember that and use SMS.
 * - recipient_opted_out: the recipient unsubscribed from this sender (texted STOP to it); record
 *   their opt-out and send nothing more.
 * - permanent: this request will not succeed as it is (bad number, landline, ...).
 */
export type ProviderErrorKind = "retryable" | "not_on_whatsapp" | "recipient_opted_out" | "permanent";

export interface ProviderError {
  /** The provider's error code (Twilio's 5-digit codes); null when there was no answer. */
  code: number | null;
  /** A reason a person can act on. */
  message: string;
  kind: ProviderErrorKind;
  /** How long Twilio asked to wait before trying again (its Retry-After), in seconds. */
  retryAfterSeconds?: number;
  /**
   * The request went out and no answer came back (timeout, connection reset): Twilio may
   * have accepted it, so sending again could send twice.
   */
  outcomeUnknown?: boolean;
}

export type SendResult = { ok: true; sid: string; status: MessageStatus } | { ok: false; error: ProviderError };

export interface WhatsAppSend {
  /** The caller, E.164. */
  to: string;
  /** The business's WhatsApp sender, E.164. */
  from: string;
  /** An approved Content template (HX...). */
  contentSid: string;
  /** The template's placeholders by number: { "1": "Ana", "2": "Bakery" }. */
  contentVariables: Record<string, string>;
  statusCallback: string;
}

export interface SmsSend {
  to: string;
  from: string;
  body: string;
  statusCallback: string;
}

export interface FetchedMessage {
  sid: string;
  status: MessageStatus;
  errorCode: number | null;
  /** Twilio's text for the error code, when it gives one. */
  errorMessage: string | null;
}

export interface MessagingProvider {
  sendWhatsApp(input: WhatsAppSend): Promise<SendResult>;
  sendSms(input: SmsSend): Promise<SendResult>;
  /** Throws `ProviderRequestError` (never anything untyped) when the message cannot be read. */
  fetchMessage(sid: string): Promise<FetchedMessage>;
}

/** A failed provider request as an exception, for the calls that have no result union. */
export class ProviderRequestError extends Error implements ProviderError {
  readonly code: number | null;
  readonly kind: ProviderErrorKind;

  constructor(error: ProviderError) {
    super(error.message);
    this.name = "ProviderRequestError";
    this.code = error.code;
    this.kind = error.kind;
  }
}
