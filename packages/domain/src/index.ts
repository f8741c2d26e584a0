export {
  atLimitDescription,
  type Entitlement,
  entitlementOf,
  PAST_DUE_GRACE_DAYS,
  quotaReachedReason,
  type SubscriptionState,
  type SubscriptionStatus,
  subscriptionStateOf,
  subscriptionStatuses,
  usagePeriodOf,
} from "./billing.ts";
export {
  type BusinessHours,
  businessHoursSchema,
  isQuietTime,
  isValidTimeZone,
  isWithinBusinessHours,
  nextAllowedSendTime,
  type QuietHours,
  quietHoursSchema,
  timeZoneSchema,
  type Weekday,
  weekdays,
} from "./business-hours.ts";
export {
  type AnsweredBy,
  answeredByValues,
  type CallOutcome,
  type CallReport,
  type CallStatus,
  callOutcome,
  callOutcomes,
  callStatuses,
  callStatusOrder,
  callStatusSchema,
  finalCallStatuses,
  isFinalCallStatus,
} from "./call-outcome.ts";
export {
  type ConsentSource,
  type ConsentState,
  callerOwnedOptOutSources,
  consentRefusalOf,
  staffOptInRefusalOf,
} from "./consent.ts";
export {
  type ConsentKeywordAction,
  consentConfirmation,
  consentKeywordOf,
  type KeywordLanguage,
} from "./consent-keywords.ts";
export { finalJobStatuses, isFinalJobStatus, type JobStatus, jobStatuses } from "./job-status.ts";
export { type Channel, type Decision, type DecisionInput, decideMessage } from "./message-decision.ts";
export {
  isDeliveredLike,
  isFailure,
  isFinal,
  type MessageStatus,
  mergeStatus,
  messageStatuses,
  messageStatusProgress,
  messageStatusSchema,
  parseMessageStatus,
} from "./message-status.ts";
export { type CountryCode, e164Schema, isE164, type PhoneNumberResult, parsePhoneNumber } from "./phone-number.ts";
export {
  hasQuotaLeft,
  isPlanId,
  type Plan,
  type PlanId,
  paidPlans,
  planIdSchema,
  planIds,
  planOfLookupKey,
  plans,
  quotaFor,
} from "./plans.ts";
export {
  defaultSenderRates,
  deliveryThrottleKey,
  LANE,
  type SenderKind,
  type SenderRates,
  senderKindOf,
  senderKinds,
  senderRatesSchema,
} from "./sender-pace.ts";
export {
  type ConsentPolicy,
  consentPolicies,
  defaultSettings,
  type Settings,
  type SettingsUpdate,
  settingsSchema,
  settingsUpdateSchema,
} from "./settings.ts";
export { countSmsSegments, type SmsEncoding, type SmsSegments } from "./sms-segments.ts";
export {
  callerNameFallback,
  formatCallTime,
  renderTemplate,
  renderWhatsAppVariables,
  sampleVariables,
  type TemplateRenderFailure,
  type TemplateRenderResult,
  type TemplateVariableName,
  type TemplateVariables,
  templatePlaceholders,
  templateVariableNames,
  type WhatsAppVariablesResult,
  whatsAppVariablesSchema,
} from "./template-render.ts";
export {
  type CallFacts,
  DEFAULT_FORWARD_TIMEOUT_SECONDS,
  type DialCallStatus,
  dialAnswered,
  dialCallStatuses,
  dialCallStatusSchema,
  type OutcomeSource,
  outcomeSources,
  type SettledOutcome,
  settleCallOutcome,
  unavailableMessage,
  VOICE_CALLBACK_GRACE_SECONDS,
  type VoiceFlow,
  type VoiceLanguage,
  voiceFlows,
  voiceLanguages,
  voicemailGreeting,
} from "./voice-flow.ts";
export { isKnownNotOnWhatsApp, NOT_ON_WHATSAPP_MARK_DAYS, type WhatsAppStatus } from "./whatsapp-reachability.ts";
export {
  type WhatsAppCategory,
  whatsappCategories,
  whatsappCategorySchema,
  whatsappRefusalOf,
} from "./whatsapp-templates.ts";
