import { z } from "zod";
import { businessHoursSchema, quietHoursSchema, timeZoneSchema } from "./business-hours.ts";
import { callOutcomes } from "./call-outcome.ts";
import { e164Schema, isE164 } from "./phone-number.ts";
import { DEFAULT_FORWARD_TIMEOUT_SECONDS, voiceLanguages } from "./voice-flow.ts";

export const consentPolicies = ["implied", "explicit"] as const;

export type ConsentPolicy = (typeof consentPolicies)[number];

const wholeSeconds = (name: string, min: number, max: number, hint: string) =>
  z
    .number({ error: `${name} must be a number of seconds.` })
    .int({ error: `${name} must be a whole number of seconds.` })
    .min(min, { error: `${name} must be at least ${min} seconds. ${hint}` })
    .max(max, { error: `${name} must be at most ${max} seconds. ${hint}` });

/** Each editable settings column of `organizations`, with the same limits as its check constraint. */
const fields = {
  timezone: timeZoneSchema,
  business_hours: businessHoursSchema,
  quiet_hours: quietHoursSchema.nullable(),
  fallback_window_seconds: wholeSeconds("The SMS fallback wait", 10, 86_400, "That is 10 seconds to 1 day."),
  cooldown_seconds: wholeSeconds("The cooldown", 0, 2_592_000, "That is none to 30 days."),
  consent_policy: z.enum(consentPolicies, {
    error: `The consent policy must be "implied" or "explicit".`,
  }),
  // Empty is allowed: it pauses automatic messages without touching templates.
  trigger_outcomes: z
    .array(z.enum(callOutcomes, { error: `Outcomes are "missed", "answered" and "voicemail".` }))
    .refine((outcomes) => new Set(outcomes).size === outcomes.length, {
      error: "List each call outcome once.",
    }),
  answered_min_seconds: wholeSeconds("The shortest answered call", 0, 600, "That is none to 10 minutes."),
  help_text: z
    .string({ error: "The help reply must be text." })
    .trim()
    .min(1, { error: "The help reply cannot be empty." })
    .max(320, { error: "The help reply can be at most 320 characters." }),
  // After-call delivery: the WhatsApp sender when it is not the number callers ring,
  // "+15125550100" or "whatsapp:+15125550100", stored in E.164; null: the called number.
  whatsapp_sender: z
    .string({ error: "The WhatsApp sender must be a phone number." })
    .trim()
    .max(80, { error: "The WhatsApp sender is a phone number such as +15125550100.", abort: true })
    .transform((sender) => sender.replace(/^whatsapp:/i, "").replace(/[\s().-]/g, ""))
    .refine(isE164, { error: "The WhatsApp sender is a phone number in international form, such as +15125550100." })
    .nullable(),
  // The voice flow: where calls are forwarded, how long they ring, and voicemail.
  // null: no forwarding number; calls go straight to voicemail (or a short message when it is off).
  forward_to: e164Schema.nullable(),
  forward_timeout_seconds: wholeSeconds(
    "The ring time",
    5,
    60,
    "Keep it under about 15 seconds, or the phone's own voicemail may answer first.",
  ),
  voicemail_enabled: z.boolean({ error: "Voicemail is on (true) or off (false)." }),
  // null: a greeting of ours in voice_language, naming the business.
  voicemail_greeting: z
    .string({ error: "The voicemail greeting must be text." })
    .trim()
    .min(1, { error: "The voicemail greeting cannot be empty; use null for the standard one." })
    .max(500, { error: "The voicemail greeting can be at most 500 characters." })
    .nullable(),
  voice_language: z.enum(voiceLanguages, {
    error: `The voice language is one of ${voiceLanguages.join(", ")}.`,
  }),
};

/** The defaults are the column defaults in supabase/migrations/…_organizations.sql. */
export const defaultSettings = {
  timezone: "UTC",
  business_hours: {
    mon: [["09:00", "17:00"]],
    tue: [["09:00", "17:00"]],
    wed: [["09:00", "17:00"]],
    thu: [["09:00", "17:00"]],
    fri: [["09:00", "17:00"]],
  },
  quiet_hours: { start: "21:00", end: "08:00" },
  fallback_window_seconds: 300,
  cooldown_seconds: 86_400,
  consent_policy: "implied",
  trigger_outcomes: ["missed", "voicemail"],
  answered_min_seconds: 5,
  help_text: "Reply STOP to stop messages from us. Call us back any time.",
  whatsapp_sender: null,
  // The voice flow.
  forward_to: null,
  forward_timeout_seconds: DEFAULT_FORWARD_TIMEOUT_SECONDS,
  voicemail_enabled: true,
  voicemail_greeting: null,
  voice_language: "en-US",
} satisfies z.input<z.ZodObject<typeof fields>>;

/** An organization's messaging settings; a field left out takes the database default. */
export const settingsSchema = z.object({
  timezone: fields.timezone.default(defaultSettings.timezone),
  business_hours: fields.business_hours.default(() => structuredClone(defaultSettings.business_hours)),
  quiet_hours: fields.quiet_hours.default(() => ({ ...defaultSettings.quiet_hours })),
  fallback_window_seconds: fields.fallback_window_seconds.default(defaultSettings.fallback_window_seconds),
  cooldown_seconds: fields.cooldown_seconds.default(defaultSettings.cooldown_seconds),
  consent_policy: fields.consent_policy.default(defaultSettings.consent_policy),
  trigger_outcomes: fields.trigger_outcomes.default(() => [...defaultSettings.trigger_outcomes]),
  answered_min_seconds: fields.answered_min_seconds.default(defaultSettings.answered_min_seconds),
  help_text: fields.help_text.default(defaultSettings.help_text),
  whatsapp_sender: fields.whatsapp_sender.default(defaultSettings.whatsapp_sender),
  // The voice flow.
  forward_to: fields.forward_to.default(defaultSettings.forward_to),
  forward_timeout_seconds: fields.forward_timeout_seconds.default(defaultSettings.forward_timeout_seconds),
  voicemail_enabled: fields.voicemail_enabled.default(defaultSettings.voicemail_enabled),
  voicemail_greeting: fields.voicemail_greeting.default(defaultSettings.voicemail_greeting),
  voice_language: fields.voice_language.default(defaultSettings.voice_language),
});

export type Settings = z.output<typeof settingsSchema>;

/**
 * A change to some settings. Unknown fields are refused rather than dropped, so a typo is
 * not a silent no-op; `quiet_hours: null` turns quiet hours off.
 */
export const settingsUpdateSchema = z
  .strictObject(fields, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `Unknown setting ${issue.keys.map((key) => JSON.stringify(key)).join(", ")}. Settings are ${Object.keys(fields).join(", ")}.`
        : undefined,
  })
  .partial()
  .refine((update) => Object.values(update).some((value) => value !== undefined), {
    error: "Change at least one setting.",
  });

export type SettingsUpdate = z.output<typeof settingsUpdateSchema>;
