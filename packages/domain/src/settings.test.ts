import { describe, expect, it } from "vitest";
import { defaultSettings, settingsSchema, settingsUpdateSchema } from "./settings.ts";

const messagesOf = (result: { error?: { issues: { message: string }[] } }) =>
  result.error?.issues.map((issue) => issue.message).join("\n") ?? "";

describe("settingsSchema", () => {
  it("fills every field left out with the database default", () => {
    expect(settingsSchema.parse({})).toEqual({
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
      forward_to: null,
      forward_timeout_seconds: 12,
      voicemail_enabled: true,
      voicemail_greeting: null,
      voice_language: "en-US",
    });
  });

  it("hands out fresh default objects, so changing one does not change the next", () => {
    const first = settingsSchema.parse({});
    first.trigger_outcomes.push("answered");
    first.business_hours.mon?.push(["18:00", "19:00"]);
    expect(settingsSchema.parse({}).trigger_outcomes).toEqual(["missed", "voicemail"]);
    expect(settingsSchema.parse({}).business_hours.mon).toEqual([["09:00", "17:00"]]);
    expect(defaultSettings.trigger_outcomes).toEqual(["missed", "voicemail"]);
  });

  it("reads a row with other columns and keeps only the settings", () => {
    const row = {
      id: "org_1",
      name: "Rivera Plumbing",
      created_at: "2026-01-01",
      ...defaultSettings,
      timezone: "Europe/Madrid",
    };
    const settings = settingsSchema.parse(row);
    expect(settings.timezone).toBe("Europe/Madrid");
    expect(Object.keys(settings).sort()).toEqual(Object.keys(defaultSettings).sort());
  });

  it.each<[string, Record<string, unknown>]>([
    ["no quiet hours", { quiet_hours: null }],
    ["no trigger outcomes: messages paused", { trigger_outcomes: [] }],
    ["every outcome", { trigger_outcomes: ["missed", "answered", "voicemail"] }],
    ["the shortest fallback wait", { fallback_window_seconds: 10 }],
    ["the longest fallback wait", { fallback_window_seconds: 86_400 }],
    ["no cooldown", { cooldown_seconds: 0 }],
    ["the longest cooldown", { cooldown_seconds: 2_592_000 }],
    ["explicit consent", { consent_policy: "explicit" }],
    ["answered_min_seconds 0", { answered_min_seconds: 0 }],
    ["answered_min_seconds 600", { answered_min_seconds: 600 }],
    ["a 320-character help reply", { help_text: "x".repeat(320) }],
    ["no forwarding number", { forward_to: null }],
    ["the shortest ring", { forward_timeout_seconds: 5 }],
    ["the longest ring", { forward_timeout_seconds: 60 }],
    ["voicemail off", { voicemail_enabled: false }],
    ["a greeting of the business's own", { voicemail_greeting: "Hola, soy Rosa. Deja tu mensaje." }],
    ["Spanish from Spain", { voice_language: "es-ES" }],
  ])("accepts %s", (_name, input) => {
    expect(settingsSchema.parse(input)).toMatchObject(input);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ["an unknown timezone", { timezone: "Mars/Base" }, /Unknown timezone "Mars\/Base"/],
    ["an offset for a timezone", { timezone: "+02:00" }, /IANA name/],
    ["a fallback wait under 10 s", { fallback_window_seconds: 9 }, /SMS fallback wait must be at least 10 seconds/],
    ["a fallback wait over a day", { fallback_window_seconds: 86_401 }, /at most 86400 seconds/],
    ["a fractional fallback wait", { fallback_window_seconds: 30.5 }, /whole number of seconds/],
    ["a fallback wait as text", { fallback_window_seconds: "300" }, /must be a number of seconds/],
    ["a negative cooldown", { cooldown_seconds: -1 }, /cooldown must be at least 0 seconds/],
    ["a cooldown over 30 days", { cooldown_seconds: 2_592_001 }, /at most 2592000 seconds/],
    ["an unknown consent policy", { consent_policy: "opt-in" }, /"implied" or "explicit"/],
    [
      "an unknown outcome",
      { trigger_outcomes: ["missed", "after_hours"] },
      /Outcomes are "missed", "answered" and "voicemail"/,
    ],
    ["a repeated outcome", { trigger_outcomes: ["missed", "missed"] }, /each call outcome once/],
    ["answered_min_seconds over 10 minutes", { answered_min_seconds: 601 }, /at most 600 seconds/],
    ["an empty help reply", { help_text: "" }, /cannot be empty/],
    ["a blank help reply", { help_text: "   " }, /cannot be empty/],
    ["a long help reply", { help_text: "x".repeat(321) }, /at most 320 characters/],
    ["quiet hours that start and end together", { quiet_hours: { start: "09:00", end: "09:00" } }, /different times/],
    ["business hours with an unknown day", { business_hours: { Monday: [] } }, /Unknown day "Monday"/],
    ["a forwarding number that is no number", { forward_to: "call me" }, /.+/],
    ["a ring under 5 s", { forward_timeout_seconds: 4 }, /ring time must be at least 5 seconds/],
    ["a ring over a minute", { forward_timeout_seconds: 61 }, /at most 60 seconds\. Keep it under about 15 seconds/],
    ["voicemail as text", { voicemail_enabled: "yes" }, /on \(true\) or off \(false\)/],
    ["an empty greeting", { voicemail_greeting: "  " }, /cannot be empty; use null/],
    ["a long greeting", { voicemail_greeting: "x".repeat(501) }, /at most 500 characters/],
    ["a language we do not speak", { voice_language: "fr-FR" }, /one of en-US, en-GB/],
  ])("refuses %s", (_name, input, message) => {
    const result = settingsSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(messagesOf(result)).toMatch(message);
  });
});

describe("settingsUpdateSchema", () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ["one field, no defaults added", { cooldown_seconds: 3600 }, { cooldown_seconds: 3600 }],
    ["turning quiet hours off", { quiet_hours: null }, { quiet_hours: null }],
    ["pausing messages", { trigger_outcomes: [] }, { trigger_outcomes: [] }],
    ["a timezone, correctly cased", { timezone: "america/chicago" }, { timezone: "America/Chicago" }],
    ["a trimmed help reply", { help_text: "  Reply STOP to opt out.  " }, { help_text: "Reply STOP to opt out." }],
    ["a forwarding number as typed", { forward_to: "+1 (512) 555-0199" }, { forward_to: "+15125550199" }],
    ["forwarding off", { forward_to: null }, { forward_to: null }],
    [
      "several fields",
      { consent_policy: "explicit", answered_min_seconds: 10 },
      { consent_policy: "explicit", answered_min_seconds: 10 },
    ],
  ])("accepts %s", (_name, input, expected) => {
    expect(settingsUpdateSchema.parse(input)).toEqual(expected);
  });

  it.each<[string, unknown, RegExp]>([
    ["nothing", {}, /Change at least one setting/],
    ["only undefined fields", { cooldown_seconds: undefined }, /Change at least one setting/],
    ["an unknown field", { cooldown: 60 }, /Unknown setting "cooldown"\. Settings are timezone, business_hours/],
    ["a bad value", { fallback_window_seconds: 5 }, /at least 10 seconds/],
    ["not an object", "cooldown_seconds=60", /.+/],
  ])("refuses %s", (_name, input, message) => {
    const result = settingsUpdateSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(messagesOf(result)).toMatch(message);
  });
});

describe("whatsapp_sender", () => {
  it.each<[string, string | null, string | null]>([
    ["E.164", "+15125550100", "+15125550100"],
    ["a whatsapp: sender, stored in E.164", "whatsapp:+15125550100", "+15125550100"],
    ["spaced as people write it", " +1 (512) 555-0100 ", "+15125550100"],
    ["none: the called number", null, null],
  ])("accepts %s", (_name, input, stored) => {
    expect(settingsUpdateSchema.parse({ whatsapp_sender: input })).toEqual({ whatsapp_sender: stored });
  });

  it.each<[string, unknown]>([
    ["a national number", "5125550100"],
    ["text", "our WhatsApp"],
    ["a number", 15125550100],
    ["something very long", `+1${"5".repeat(100)}`],
  ])("refuses %s with the form it wants", (_name, input) => {
    const result = settingsUpdateSchema.safeParse({ whatsapp_sender: input });
    expect(result.success).toBe(false);
    expect(messagesOf(result)).toMatch(/WhatsApp sender (is|must be) a phone number/);
  });
});
