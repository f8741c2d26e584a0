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
  classifyTwilioError,
  describeTwilioError,
  type TwilioErrorEntry,
  twilioErrors,
} from "./twilio-errors.ts";
export { createTwilioMessaging, type TwilioMessagingOptions } from "./twilio-messaging.ts";
export {
  mapTwilioMessageStatus,
  validateTwilioSignature,
} from "./twilio-status.ts";
