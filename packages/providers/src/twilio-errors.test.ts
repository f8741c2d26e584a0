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
  it("gives every known code a sentence", () => {
    for (const [code, entry] of Object.entries(twilioErrors)) {
      expect(describeTwilioError(Number(code))).toBe(entry.reason);
      expect(entry.reason).toMatch(/^[A-Z'].+\.$/);
    }
  });

  it("points unknown codes to Twilio's reference, and names a missing answer", () => {
    expect(describeTwilioError(12345)).toBe(
      "Twilio error 12345; see https://www.twilio.com/docs/api/errors/12345 for causes.",
    );
    expect(describeTwilioError(null)).toMatch(/did not answer/);
  });
});
