export { type DevExecutor, type DevExecutorOptions, type RunSummary, startDevExecutor } from "./dev-executor.ts";
export {
  DEV_ISSUER,
  type DevTokenIssuer,
  type DevTokenRequest,
  devTokenIssuerFromKey,
  openDevTokenIssuer,
} from "./dev-token-issuer.ts";
export {
  isSandboxAccountNumber,
  type PlaceCallOptions,
  type PlacedCall,
  type SandboxCallback,
  type SandboxCallStatus,
  type SandboxMessage,
  startTwilioSandbox,
  type TwilioSandbox,
  type TwilioSandboxOptions,
} from "./twilio-sandbox.ts";
export {
  defaultSandboxTiming,
  type SandboxChannel,
  type SandboxMessageStatus,
  type SandboxRefusal,
  type SandboxTiming,
  sandboxScenario,
} from "./twilio-sandbox-scenarios.ts";
