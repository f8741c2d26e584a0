import { describe, expect, it } from "vitest";
import type { ProviderErrorKind } from "./messaging-provider.ts";
import { classifyTwilioError, describeTwilioError, twilioErrors } from "./twilio-errors.ts";

describe("classifyTwilioError", () => {
  it.each<[string, number | null, number | undefined, ProviderErrorKind]>([
    ["too many requests", 20429, 429, "retryable"],
    ["Twilio internal error", 20500, 500, "retryable"],
    ["Twilio unavailable", 20503, 503, "retryable"],
    ["WhatsApp channel rate limit", 63018, undefined, "retryable"],
    ["a 5xx without a code", null, 502, "retryable"],
    ["a 429 without a code", null, 429, "retryable"],
    ["an unknown code on a 5xx", 99999, 503, "retryable"],
    ["no answer at all (network)", null, undefined, "retryable"],
    ["channel could not find To address", 63003, 400, "not_on_whatsapp"],
    ["invalid message recipient", 63024, 400, "not_on_whatsapp"],
    ["invalid message recipient, from a callback", 63024, undefined, "not_on_whatsapp"],
    ["recipient cannot be reached on WhatsApp (deprecated)", 63033, undefined, "not_on_whatsapp"],
    ["invalid To", 21211, 400, "permanent"],
    ["not a mobile number", 21614, 400, "permanent"],
    ["unsubscribed (STOP)", 21610, 400, "recipient_opted_out"],
    ["unsubscribed, from a callback", 21610, undefined, "recipient_opted_out"],
    ["no permission for the region", 21408, 400, "permanent"],
    ["outside the WhatsApp window", 63016, undefined, "permanent"],
    ["blocked by the user", 63014, undefined, "permanent"],
    ["unreachable handset", 30003, undefined, "permanent"],
    ["unknown handset", 30005, undefined, "permanent"],
    ["landline or unreachable carrier", 30006, undefined, "permanent"],
    ["filtered", 30007, undefined, "permanent"],
    ["unknown carrier error", 30008, undefined, "permanent"],
    ["bad credentials", 20003, 401, "permanent"],
    ["an unknown code on a 4xx", 99999, 400, "permanent"],
    ["an unknown code from a callback", 99999, undefined, "permanent"],
    ["a 4xx without a code", null, 400, "permanent"],
  ])("%s (%s, HTTP %s) → %s", (_, code, httpStatus, kind) => {
    expect(classifyTwilioError(code, httpStatus)).toBe(kind);
  });

  it("lets the table decide over the HTTP status", () => {
    expect(classifyTwilioError(21211, 500)).toBe("permanent");
    expect(classifyTwilioError(20429, 400)).toBe("retryable");
  });
});

describe("describeTwilioError", () => {
  it.each<[number, RegExp]>([
    [20429, /rate-limiting.*try again shortly/],
    [20500, /internal server error; try again shortly/],
    [63018, /WhatsApp's rate limit/],
    [63003, /not a WhatsApp user/],
    [63024, /cannot receive WhatsApp messages: not on WhatsApp/],
    [63033, /WhatsApp error 1007/],
    [20003, /credentials.*TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN/],
    [21211, /'To' phone number is not a valid phone number/],
    [21408, /geographic permissions/],
    [21610, /unsubscribed \(replied STOP\)/],
    [21614, /landline/],
    [21617, /1600-character limit/],
    [21656, /template variables are invalid/],
    [30003, /unreachable \(switched off or out of coverage\)/],
    [30007, /filtered/],
    [30034, /A2P-registered/],
    [63014, /blocked this business on WhatsApp/],
    [63016, /24-hour window/],
  ])("says what %i means", (code, reason) => {
    expect(describeTwilioError(code)).toMatch(reason);
  });

  it("gives every code it tells apart a sentence of its own", () => {
    const described = Object.keys(twilioErrors).map((code) => describeTwilioError(Number(code)));
    expect(described.length).toBeGreaterThanOrEqual(40);
    for (const reason of described) {
      expect(reason).toMatch(/^[A-Z'].+\.$/);
      expect(reason).not.toMatch(/see https:\/\/www\.twilio\.com/);
    }
    expect(new Set(described).size).toBe(described.length);
  });

  it("points unknown codes to Twilio's reference, and names a missing answer", () => {
    expect(describeTwilioError(12345)).toBe(
      "Twilio error 12345; see https://www.twilio.com/docs/api/errors/12345 for causes.",
    );
    expect(describeTwilioError(null)).toBe("Twilio did not answer (network error or timeout).");
    expect(describeTwilioError(undefined)).toBe("Twilio did not answer (network error or timeout).");
  });
});
