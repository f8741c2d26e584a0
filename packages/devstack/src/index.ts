export {
  DEV_ISSUER,
  type DevTokenIssuer,
  type DevTokenRequest,
  devTokenIssuerFromKey,
  openDevTokenIssuer,
} from "./dev-token-issuer.ts";
export type { ExecutorLog, ExecutorLogLine } from "./executor/log.ts";
export {
  type DevExecutor,
  type DevExecutorOptions,
  type RunSummary,
  startDevExecutor,
} from "./executor/start-executor.ts";
export {
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
