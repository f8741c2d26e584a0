import { describe, expect, it } from "vitest";
import { type DecisionInput, decideMessage } from "./message-decision.ts";
import { plans } from "./plans.ts";

// Wednesday 2026-11-25, 15:00 in Chicago (21:00 UTC): open, not quiet.
const NOW = new Date("2026-11-25T21:00:00Z");
const base: DecisionInput = {
  call: { outcome: "missed", from: "+15125550147", to: "+15125550100", endedAt: NOW },
  organization: {
    name: "Northside Plumbing",
    timezone: "America/Chicago",
    businessHours: {
      mon: [["08:00", "18:00"]],
      tue: [["08:00", "18:00"]],
      wed: [["08:00", "18:00"]],
      thu: [["08:00", "18:00"]],
      fri: [["08:00", "18:00"]],
    },
    quietHours: { start: "21:00", end: "08:00" },
    consentPolicy: "implied",
    triggerOutcomes: ["missed", "voicemail"],
    cooldownSeconds: 86_400,
    entitlement: { sending: true, plan: plans.starter, graceUntil: null },
    messagesUsedThisPeriod: 10,
  },
  contact: null,
  templates: [
    {
      id: "t-missed-en",
      trigger: "missed",
      language: "en",
      whatsappContentSid: `HX${"a".repeat(32)}`,
      whatsappCategory: "utility",
      whatsappVariables: { "1": "{{business_name}}" },
      smsBody: "{{business_name}} missed your call, {{caller_name}}.",
    },
    {
      id: "t-missed-es",
      trigger: "missed",
      language: "es",
      whatsappContentSid: `HX${"e".repeat(32)}`,
      whatsappCategory: "utility",
      whatsappVariables: { "1": "{{caller_name}}", "2": "{{call_time}}" },
      smsBody: "Hola {{caller_name}}, {{business_name}} perdió tu llamada del {{call_time}}.",
    },
    {
      id: "t-after-en",
      trigger: "after_hours",
      language: "en",
      whatsappContentSid: null,
      whatsappCategory: "utility",
      whatsappVariables: {},
      smsBody: "We are closed.",
    },
  ],
  now: NOW,
};
const englishMissed = base.templates[0] as DecisionInput["templates"][number];
const contact = (overrides: Partial<NonNullable<DecisionInput["contact"]>>) => ({
  name: "Sam",
  optedOut: false,
  optedIn: false,
  whatsappStatus: "unknown" as const,
  whatsappCheckedAt: null,
  lastMessagedAt: null,
  ...overrides,
});
const withOrg = (overrides: Partial<DecisionInput["organization"]>): DecisionInput => ({
  ...base,
  organization: { ...base.organization, ...overrides },
});

describe("decideMessage", () => {
  it("sends the business-hours template on WhatsApp first, rendered", () => {
    expect(decideMessage(base)).toMatchObject({
      decision: "send",
      to: "+15125550147",
      templateId: "t-missed-en",
      channels: ["whatsapp", "sms"],
      whatsapp: { variables: { "1": "Northside Plumbing" } },
      smsBody: "Northside Plumbing missed your call, there.",
      sendAfter: NOW,
    });
  });

  it.each([
    ["an invalid caller number", { ...base, call: { ...base.call, from: "anonymous" } }, /caller number/],
    ["an opted-out caller", { ...base, contact: contact({ optedOut: true }) }, /opted out/],
    ["no opt-in under an explicit consent policy", withOrg({ consentPolicy: "explicit" }), /opted in/],
    [
      "an outcome the business does not message",
      { ...base, call: { ...base.call, outcome: "answered" as const } },
      /after answered calls/,
    ],
    [
      "a caller messaged within the cooldown",
      { ...base, contact: contact({ lastMessagedAt: new Date(NOW.getTime() - 3_600_000) }) },
      /less than 24 h ago/,
    ],
    [
      "a used-up quota",
      withOrg({ entitlement: { sending: true, plan: plans.free, graceUntil: null }, messagesUsedThisPeriod: 50 }),
      /^monthly message quota reached: 50 of 50 on Free$/,
    ],
    [
      "a subscription that does not allow sending",
      withOrg({ entitlement: { sending: false, plan: plans.starter, reason: "the Starter plan is unpaid: pay it" } }),
      /^the Starter plan is unpaid: pay it$/,
    ],
    [
      "no template for the outcome",
      { ...base, call: { ...base.call, outcome: "voicemail" as const } },
      /no active template for voicemail/,
    ],
  ])("skips %s, with the reason", (_, input, reason) => {
    const decision = decideMessage(input);
    expect(decision.decision).toBe("skip");
    expect(decision.reason).toMatch(reason);
  });

  it("allows a caller again once the cooldown has passed", () => {
    const decision = decideMessage({
      ...base,
      contact: contact({ lastMessagedAt: new Date(NOW.getTime() - 90_000_000) }),
    });
    expect(decision.decision).toBe("send");
  });

  it.each([
    ["1 ms before the cooldown ends", 86_400_000 - 1, "skip"],
    ["exactly when the cooldown ends", 86_400_000, "send"],
    ["1 ms after the cooldown ends", 86_400_000 + 1, "send"],
  ])("%s: %s", (_, sinceLastMessage, expected) => {
    const lastMessagedAt = new Date(NOW.getTime() - sinceLastMessage);
    expect(decideMessage({ ...base, contact: contact({ lastMessagedAt }) }).decision).toBe(expected);
  });

  it("counts the cooldown in the business's own seconds", () => {
    const lastMessagedAt = new Date(NOW.getTime() - 600_000); // 10 minutes ago
    const decide = (cooldownSeconds: number) =>
      decideMessage({ ...withOrg({ cooldownSeconds }), contact: contact({ lastMessagedAt }) });
    expect(decide(600).decision).toBe("send");
    expect(decide(601).decision).toBe("skip");
    expect(decide(7_200)).toMatchObject({ decision: "skip", reason: "the caller was messaged less than 2 h ago" });
    expect(decide(0).decision).toBe("send");
    // Under an hour, or not whole hours: minutes, never "0 h".
    expect(decide(1_800)).toMatchObject({ reason: "the caller was messaged less than 30 min ago" });
    expect(decide(5_400)).toMatchObject({ reason: "the caller was messaged less than 90 min ago" });
  });

  it("skips a call that has no outcome yet", () => {
    expect(decideMessage({ ...base, call: { ...base.call, outcome: null } })).toEqual({
      decision: "skip",
      reason: "the call has not ended",
      to: "+15125550147",
    });
  });

  it("greets a caller the business knows by name", () => {
    expect(decideMessage({ ...base, contact: contact({ name: "Ana" }) })).toMatchObject({
      smsBody: "Northside Plumbing missed your call, Ana.",
    });
  });

  it("skips, with the template's problem, when its SMS text cannot be rendered", () => {
    const decision = decideMessage({ ...base, templates: [{ ...englishMissed, smsBody: "Hi {{first_name}}" }] });
    expect(decision).toMatchObject({ decision: "skip" });
    expect(decision.reason).toMatch(
      /^the template's SMS text cannot be rendered: Unknown placeholder \{\{first_name\}\}/,
    );
  });

  it("sends SMS only when the WhatsApp variables cannot be rendered for this call", () => {
    // {{caller_name}} always has a value, but {{business_phone}} is empty here: WhatsApp refuses empty variables.
    const decision = decideMessage({
      ...base,
      call: { ...base.call, to: "" },
      templates: [{ ...englishMissed, whatsappVariables: { "1": "{{business_phone}}" } }],
    });
    expect(decision).toMatchObject({ decision: "send", channels: ["sms"], whatsapp: null });
  });

  it.each<[string, Partial<DecisionInput>, string]>([
    ["a missed call in business hours", {}, "missed call; WhatsApp first, SMS as fallback"],
    [
      "a caller known not to be on WhatsApp (since yesterday)",
      { contact: contact({ whatsappStatus: "unavailable", whatsappCheckedAt: new Date(NOW.getTime() - 86_400_000) }) },
      "missed call; SMS: the number is not on WhatsApp",
    ],
    [
      "a call after hours",
      { call: { ...base.call, endedAt: new Date("2026-11-25T01:00:00Z") }, now: new Date("2026-11-25T01:00:00Z") },
      "after-hours call; SMS: the template has no WhatsApp content",
    ],
    [
      "a call after hours with no after-hours template",
      {
        call: { ...base.call, endedAt: new Date("2026-11-25T01:00:00Z") },
        now: new Date("2026-11-25T01:00:00Z"),
        templates: base.templates.filter((template) => template.trigger !== "after_hours"),
      },
      "missed call; WhatsApp first, SMS as fallback",
    ],
    [
      "a call in quiet hours",
      { now: new Date("2026-11-26T04:00:00Z") },
      "missed call; WhatsApp first, SMS as fallback; deferred to the end of quiet hours",
    ],
  ])("gives %s its reason", (_, change, reason) => {
    expect(decideMessage({ ...base, ...change }).reason).toBe(reason);
  });

  it.each([
    ["+15125550147", "en"],
    ["+447911123456", "en"],
    ["+61412345678", "en"],
    ["+353851234567", "en"],
    ["+64211234567", "en"],
    ["+34612000015", "es"],
    ["+525512345678", "es"],
    ["+5491123456789", "es"],
    ["+573001234567", "es"],
    ["+56912345678", "es"],
    ["+51912345678", "es"],
    ["+33612345678", "fr"],
    ["+4915112345678", "de"],
    ["+393123456789", "it"],
    ["+351912345678", "pt"],
    ["+5511912345678", "pt"],
    ["+81312345678", "en (no template in Japanese: the first one)"],
  ])("answers a caller from %s in %s", (from, language) => {
    const languages = ["en", "es", "fr", "de", "it", "pt"];
    const templates = languages.map((code) => ({
      id: `t-${code}`,
      trigger: "missed" as const,
      language: code,
      whatsappContentSid: null,
      whatsappCategory: "utility" as const,
      whatsappVariables: {},
      smsBody: code,
    }));
    const decision = decideMessage({ ...base, call: { ...base.call, from }, templates });
    expect(decision).toMatchObject({ decision: "send", smsBody: language.slice(0, 2) });
  });

  it("sends an opted-in caller under an explicit policy", () => {
    expect(
      decideMessage({ ...withOrg({ consentPolicy: "explicit" }), contact: contact({ optedIn: true }) }).decision,
    ).toBe("send");
  });

  it("uses the after-hours template outside business hours", () => {
    const endedAt = new Date("2026-11-25T01:00:00Z"); // Tuesday 19:00 in Chicago
    const decision = decideMessage({ ...base, call: { ...base.call, endedAt }, now: endedAt });
    expect(decision).toMatchObject({ decision: "send", templateId: "t-after-en", channels: ["sms"] });
  });

  it("defers to the end of quiet hours", () => {
    const now = new Date("2026-11-26T04:00:00Z"); // 22:00 in Chicago
    const decision = decideMessage({ ...base, call: { ...base.call, endedAt: new Date("2026-11-25T23:00:00Z") }, now });
    expect(decision).toMatchObject({ decision: "defer", sendAfter: new Date("2026-11-26T14:00:00Z") });
    expect(decision.reason).toMatch(/quiet hours/);
  });

  it("goes straight to SMS for a number known not to be on WhatsApp, until the mark expires", () => {
    const marked = (daysAgo: number) =>
      decideMessage({
        ...base,
        contact: contact({
          whatsappStatus: "unavailable",
          whatsappCheckedAt: new Date(NOW.getTime() - daysAgo * 86_400_000),
        }),
      });
    expect(marked(29)).toMatchObject({ decision: "send", channels: ["sms"], whatsapp: null });
    expect(marked(29).reason).toMatch(/SMS: the number is not on WhatsApp/);
    // A caller who joins WhatsApp is tried there again once the mark is 30 days old.
    expect(marked(30)).toMatchObject({ channels: ["whatsapp", "sms"] });
  });

  it("sends a marketing template to a +1 number by SMS only, saying why", () => {
    const marketing = base.templates.map((template) => ({ ...template, whatsappCategory: "marketing" as const }));
    const us = decideMessage({ ...base, templates: marketing });
    expect(us).toMatchObject({ channels: ["sms"], whatsapp: null });
    expect(us.reason).toBe(
      "missed call; SMS: WhatsApp does not deliver marketing templates to +1 numbers (Twilio 63049)",
    );
    const spain = decideMessage({ ...base, templates: marketing, call: { ...base.call, from: "+34612000015" } });
    expect(spain).toMatchObject({ channels: ["whatsapp", "sms"] });
  });

  it("writes to a Spanish caller in Spanish: the template, the time and no English fallback name", () => {
    const decision = decideMessage({ ...base, call: { ...base.call, from: "+34612000015" } });
    expect(decision).toMatchObject({
      templateId: "t-missed-es",
      channels: ["whatsapp", "sms"],
      // 15:00 in Chicago, as a Spanish reader writes the time: the business's clock.
      smsBody: "Hola, Northside Plumbing perdió tu llamada del mié, 15:00.",
      whatsapp: { variables: { "1": "cliente", "2": "mié, 15:00" } },
    });
    const named = decideMessage({ ...base, call: { ...base.call, from: "+34612000015" }, contact: contact({}) });
    expect(named).toMatchObject({ smsBody: "Hola Sam, Northside Plumbing perdió tu llamada del mié, 15:00." });
  });

  it("says why WhatsApp is left out when its variables cannot be filled", () => {
    const blank = base.templates.map((template) => ({ ...template, whatsappVariables: { "1": " " } }));
    const decision = decideMessage({ ...base, templates: blank });
    expect(decision).toMatchObject({ channels: ["sms"] });
    expect(decision.reason).toMatch(
      /SMS: the WhatsApp variables cannot be filled: WhatsApp variable \{\{1\}\} is empty/,
    );
  });
});
