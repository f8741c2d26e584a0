import { describe, expect, it } from "vitest";
import { type DecisionInput, decideMessage } from "./message-decision.ts";

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
    plan: "starter",
    messagesUsedThisPeriod: 10,
  },
  contact: null,
  templates: [
    {
      id: "t-missed-en",
      trigger: "missed",
      language: "en",
      whatsappContentSid: `HX${"a".repeat(32)}`,
      whatsappVariables: { "1": "{{business_name}}" },
      smsBody: "{{business_name}} missed your call, {{caller_name}}.",
    },
    {
      id: "t-missed-es",
      trigger: "missed",
      language: "es",
      whatsappContentSid: null,
      whatsappVariables: {},
      smsBody: "{{business_name}} perdió tu llamada.",
    },
    {
      id: "t-after-en",
      trigger: "after_hours",
      language: "en",
      whatsappContentSid: null,
      whatsappVariables: {},
      smsBody: "We are closed.",
    },
  ],
  now: NOW,
};
const contact = (overrides: Partial<NonNullable<DecisionInput["contact"]>>) => ({
  name: "Sam",
  optedOut: false,
  optedIn: false,
  whatsappStatus: "unknown" as const,
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
    ["a used-up quota", withOrg({ plan: "free", messagesUsedThisPeriod: 50 }), /quota/],
    ["an unknown plan", withOrg({ plan: "platinum" }), /quota/],
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

  it("goes straight to SMS for a number known not to be on WhatsApp", () => {
    const decision = decideMessage({ ...base, contact: contact({ whatsappStatus: "unavailable" }) });
    expect(decision).toMatchObject({ decision: "send", channels: ["sms"], whatsapp: null });
    expect(decision.reason).toMatch(/not on WhatsApp/);
  });

  it("picks the template in the caller's language when there is one", () => {
    const decision = decideMessage({ ...base, call: { ...base.call, from: "+34612000015" } });
    expect(decision).toMatchObject({
      templateId: "t-missed-es",
      channels: ["sms"],
      smsBody: "Northside Plumbing perdió tu llamada.",
    });
  });
});
