export {
  DEV_ISSUER,
  type DevTokenIssuer,
  type DevTokenRequest,
  devTokenIssuerFromKey,
  openDevTokenIssuer,
} from "./dev-token-issuer.ts";
export { devstackEnv } from "./env.ts";
export { CronError, parseCron } from "./executor/cron.ts";
export type { ExecutorLog, ExecutorLogLine } from "./executor/log.ts";
export {
  type DevExecutor,
  type DevExecutorOptions,
  type RunSummary,
  startDevExecutor,
} from "./executor/start-executor.ts";
export {
  STRIPE_SANDBOX_API_VERSION,
  STRIPE_SANDBOX_LOCAL_SECRET_KEY,
  type StripeSandbox,
  type StripeSandboxOptions,
  startStripeSandbox,
} from "./stripe-sandbox.ts";
export type {
  CatalogEntry as StripeCatalogEntry,
  SandboxEvent as StripeSandboxEvent,
  SandboxEventType as StripeSandboxEventType,
} from "./stripe-sandbox-objects.ts";
export {
  type ReleaseOrder as StripeEventReleaseOrder,
  type StripeWebhookDelivery,
  signStripePayload,
} from "./stripe-sandbox-webhooks.ts";
export {
  readTwilioSandboxAddress,
  startTwilioSandbox,
  TWILIO_SANDBOX_ACCOUNT_SID,
  TWILIO_SANDBOX_AUTH_TOKEN,
  type TwilioSandbox,
  type TwilioSandboxAddress,
  type TwilioSandboxOptions,
  twilioSandboxAddressFile,
} from "./twilio-sandbox.ts";
export type { SandboxCallback } from "./twilio-sandbox-callbacks.ts";
export {
  type PlaceCallOptions,
  type SandboxCall,
  type SandboxCallError,
  type SandboxCallScenario,
  type SandboxCallStatus,
  sandboxCallScenarios,
} from "./twilio-sandbox-calls.ts";
export type { SandboxMessage } from "./twilio-sandbox-messages.ts";
export {
  isSandboxAccountNumber,
  type SandboxNumber,
  type SandboxNumberConfiguration,
} from "./twilio-sandbox-numbers.ts";
export {
  defaultSandboxTiming,
  type SandboxChannel,
  type SandboxMessageStatus,
  type SandboxRefusal,
  type SandboxSendFault,
  type SandboxTiming,
  sandboxScenario,
} from "./twilio-sandbox-scenarios.ts";
export { parseTwiml, parseXml, TwimlError, type TwimlVerb } from "./twilio-sandbox-twiml.ts";
