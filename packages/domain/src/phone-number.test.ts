import { describe, expect, it } from "vitest";
import { type CountryCode, e164Schema, isE164, parsePhoneNumber } from "./phone-number.ts";

describe("parsePhoneNumber accepts", () => {
  it.each<[string, string, CountryCode | undefined]>([
    ["+1 (512) 555-0100", "+15125550100", undefined],
    ["+15125550100", "+15125550100", undefined],
    ["  +1 512.555.0199 ", "+15125550199", undefined],
    ["whatsapp:+34911230100", "+34911230100", undefined],
    ["whatsapp: +34911230100", "+34911230100", undefined],
    ["WhatsApp:+34 612 34 56 78", "+34612345678", undefined],
    ["\twhatsapp:+34911230100 ", "+34911230100", undefined],
    ["+44 20 7946 0000", "+442079460000", undefined],
    ["(512) 555-0100", "+15125550100", "US"],
    ["911 23 01 00", "+34911230100", "ES"],
    ["0034 911 23 01 00", "+34911230100", "ES"],
    // A country code wins over the default country.
    ["+34911230100", "+34911230100", "US"],
  ])("%j → %s (default country %s)", (input, e164, country) => {
    expect(parsePhoneNumber(input, country)).toEqual({ ok: true, e164 });
  });
});

describe("parsePhoneNumber rejects", () => {
  it.each<[string, RegExp, CountryCode | undefined]>([
    ["", /No phone number was given/, undefined],
    ["   ", /No phone number was given/, undefined],
    ["anonymous", /withheld/, undefined],
    ["Restricted", /withheld/, undefined],
    ["+266696687", /withheld/, undefined],
    ["+86282452253", /withheld/, undefined],
    ["+7378742833", /withheld/, undefined],
    ["UNKNOWN", /^The caller's number is withheld \("UNKNOWN"\), so there is no number to reply to\.$/, undefined],
    ["private", /withheld \("private"\)/, undefined],
    ["Blocked", /withheld \("Blocked"\)/, undefined],
    ["unavailable", /withheld \("unavailable"\)/, undefined],
    ["withheld", /withheld \("withheld"\)/, undefined],
    ["+2562533", /withheld/, undefined],
    ["+8656696", /withheld/, undefined],
    ["x client:alice", /contains letters/, undefined],
    ["client:alice", /browser or SIP address/, undefined],
    ["sip:alice@example.com", /browser or SIP address/, undefined],
    ["+1 512 abc", /contains letters/, undefined],
    ["+1 800 FLOWERS", /contains letters/, undefined],
    ["512 555 0100", /no country code/, undefined],
    ["+123", /too short/, undefined],
    ["+1512555010", /too short/, undefined],
    ["+1512555010099", /too long/, undefined],
    ["+999 123 456 789", /known country code/, undefined],
    ["+---", /not a phone number/, undefined],
    // Right length, but no such range: the UK's 07700 900xxx drama numbers are not assigned.
    ["+44 7700 900123", /not a valid phone number for country code \+44/, undefined],
    // One country has this code: it is named.
    ["+33 0 12 34 56 78", /^"\+33 0 12 34 56 78" is not a valid phone number in France\. Check the/, undefined],
    ["+1 012 555 0100", /not a valid phone number/, undefined],
    ["612 34", /too short/, "ES"],
  ])("%j: %s", (input, reason, country) => {
    const result = parsePhoneNumber(input, country);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it("quotes a long input cut short, not whole", () => {
    const result = parsePhoneNumber(`+1 ${"5".repeat(5_000)}`);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(`"+1 ${"5".repeat(37)}…" is too long to be a phone number. Check for extra digits.`);
    }
  });
});

describe("isE164", () => {
  it.each([
    ["+15125550100", true],
    ["+34911230100", true],
    ["+1234567", true],
    ["+123456", false],
    ["+1234567890123456", false],
    ["15125550100", false],
    ["+05125550100", false],
    ["+1 512 555 0100", false],
    ["whatsapp:+34911230100", false],
    ["", false],
  ])("%j → %s", (input, expected) => {
    expect(isE164(input)).toBe(expected);
  });
});

describe("e164Schema", () => {
  it.each([
    ["+1 (512) 555-0100", "+15125550100"],
    ["whatsapp:+34911230100", "+34911230100"],
  ])("turns %j into %s", (input, e164) => {
    expect(e164Schema.parse(input)).toBe(e164);
  });

  it.each([
    ["anonymous", /withheld/],
    ["+123", /too short/],
    ["555 0100", /country code/],
  ])("refuses %j with a message a person can act on", (input, message) => {
    const result = e164Schema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(message);
  });

  it("refuses a value that is not a string", () => {
    expect(e164Schema.safeParse(15125550100).success).toBe(false);
  });
});

describe("parsePhoneNumber's remembered answers", () => {
  it("answers a repeated input as the first time, with the default country in the key", () => {
    const first = parsePhoneNumber("(512) 555-0100", "US");
    expect(first).toEqual({ ok: true, e164: "+15125550100" });
    expect(parsePhoneNumber("(512) 555-0100", "US")).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    // Without the country the same text is not a number: the remembered US answer is not reused.
    expect(parsePhoneNumber("(512) 555-0100").ok).toBe(false);
  });

  it("reads an input longer than any phone number every time, keeping nothing", () => {
    const long = `+1 512 555 0100 ${"x".repeat(100)}`;
    const first = parsePhoneNumber(long);
    expect(parsePhoneNumber(long)).not.toBe(first);
    expect(parsePhoneNumber(long)).toEqual(first);
  });
});
