import twilio from "twilio";
import { describe, expect, it } from "vitest";
import { mapTwilioMessageStatus, validateTwilioSignature } from "./twilio-status.ts";

// Twilio's published test vector (twilio.com/docs/usage/security).
const token = "12345";
const url = "https://mycompany.com/myapp.php?foo=1&bar=2";
const params = {
  CallSid: "CA1234567890ABCDE",
  Caller: "+12349013030",
  Digits: "1234",
  From: "+12349013030",
  To: "+18005551212",
};
const signature = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";

describe("validateTwilioSignature", () => {
  it("accepts Twilio's published test vector, and the SDK signs it the same way", () => {
    expect(twilio.getExpectedTwilioSignature(token, url, params)).toBe(signature);
    expect(validateTwilioSignature(token, url, params, signature)).toBe(true);
  });

  it.each([
    ["a tampered parameter", token, url, { ...params, Digits: "1235" }, signature],
    ["an added parameter", token, url, { ...params, Extra: "1" }, signature],
    ["a removed parameter", token, url, { ...params, Digits: undefined as unknown as string }, signature],
    ["a tampered URL (query)", token, "https://mycompany.com/myapp.php?foo=1&bar=3", params, signature],
    ["a tampered URL (path)", token, "https://mycompany.com/other.php?foo=1&bar=2", params, signature],
    ["a tampered URL (scheme)", token, "http://mycompany.com/myapp.php?foo=1&bar=2", params, signature],
    ["another auth token", "54321", url, params, signature],
    ["a tampered signature", token, url, params, "1/KCTR6DLpKmkAf8muzZqo1nDgQ="],
    ["an empty signature", token, url, params, ""],
    ["no signature", token, url, params, undefined],
    ["an empty auth token", "", url, params, signature],
  ])("rejects %s", (_, authToken, requestUrl, requestParams, requestSignature) => {
    const defined = Object.fromEntries(Object.entries(requestParams).filter(([, v]) => v !== undefined));
    expect(validateTwilioSignature(authToken, requestUrl, defined, requestSignature)).toBe(false);
  });
});

describe("mapTwilioMessageStatus", () => {
  it.each([
    ["queued", "queued"],
    ["accepted", "accepted"],
    ["scheduled", "scheduled"],
    ["sending", "sending"],
    ["sent", "sent"],
    ["delivered", "delivered"],
    ["read", "read"],
    ["undelivered", "undelivered"],
    ["failed", "failed"],
    ["canceled", "canceled"],
    ["DELIVERED", "delivered"],
    ["receiving", null],
    ["received", null],
    ["partially_delivered", null],
    ["pending", null],
    ["", null],
  ])("%j → %j", (twilioStatus, expected) => {
    expect(mapTwilioMessageStatus(twilioStatus)).toBe(expected);
  });
});
