import { describe, expect, it } from "vitest";
import { consentRefusalOf, staffOptInRefusalOf } from "./consent.ts";

describe("consentRefusalOf", () => {
  it.each<[string, Parameters<typeof consentRefusalOf>[0], "implied" | "explicit", string | null]>([
    ["a new caller, implied consent", null, "implied", null],
    ["a new caller, explicit consent", null, "explicit", "the business messages only callers who opted in"],
    ["an opted-out caller", { optedOut: true, optedIn: false }, "implied", "the caller opted out"],
    ["an opted-out caller who once opted in", { optedOut: true, optedIn: true }, "explicit", "the caller opted out"],
    ["an opted-in caller, explicit consent", { optedOut: false, optedIn: true }, "explicit", null],
  ])("%s", (_, contact, policy, refusal) => {
    expect(consentRefusalOf(contact, policy)).toBe(refusal);
  });
});

describe("staffOptInRefusalOf", () => {
  it.each<[string, Parameters<typeof staffOptInRefusalOf>[0], RegExp | null]>([
    ["no history", null, null],
    ["the caller's STOP", { action: "opt_out", source: "inbound_keyword" }, /texting STOP: only they can opt back in/],
    [
      "the carrier's 21610",
      { action: "opt_out", source: "carrier" },
      /Twilio error 21610\): only they can opt back in/,
    ],
    ["staff's opt-out", { action: "opt_out", source: "dashboard" }, null],
    ["an import's opt-out", { action: "opt_out", source: "import" }, null],
    ["an opt-in last", { action: "opt_in", source: "inbound_keyword" }, null],
  ])("%s", (_, latest, refusal) => {
    const reason = staffOptInRefusalOf(latest);
    if (refusal) expect(reason).toMatch(refusal);
    else expect(reason).toBeNull();
  });
});
