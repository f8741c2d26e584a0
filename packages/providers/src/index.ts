export { stripeEnv, twilioEnv } from "./env.ts";
export {
  type FetchedMessage,
  type MessagingProvider,
  type ProviderError,
  type ProviderErrorKind,
  ProviderRequestError,
  type SendResult,
  type SmsSend,
  type WhatsAppSend,
} from "./messaging-provider.ts";
export {
  STATUS_CALLBACK_TTL_SECONDS,
  type StatusCallbackQuery,
  type StatusCallbackUrls,
  statusCallbackUrls,
} from "./status-callback-url.ts";
export {
  type BillingProvider,
  type BillingSubscription,
  createStripeBilling,
  type PlanPrice,
  type StripeBillingOptions,
  type WebhookVerification,
} from "./stripe-billing.ts";
export { DEFAULT_TWILIO_TIMEOUT_MS, type TwilioMessagingOptions } from "./twilio-client.ts";
export {
  classifyTwilioError,
  describeTwilioError,
  type TwilioErrorEntry,
  twilioErrors,
} from "./twilio-errors.ts";
export { createTwilioMessaging } from "./twilio-messaging.ts";
export {
  createTwilioNumbers,
  type OwnedNumber,
  type PhoneNumberDirectory,
  type VoiceWebhookUrls,
  voiceWebhookUrls,
} from "./twilio-numbers.ts";
export {
  mapTwilioMessageStatus,
  validateTwilioSignature,
} from "./twilio-status.ts";
