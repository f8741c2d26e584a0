// Properties of phone number parsing over any text: it never throws, what it accepts is
// E.164 and reads back as itself, and no input length makes it slow.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isE164, parsePhoneNumber } from "./phone-number.ts";

const phoneish = fc.string({ unit: fc.constantFrom(..."+0123456789 ()-.whatsp:abc\u00a0"), maxLength: 40 });

describe("phone number parsing, properties", () => {
  it("never throws; accepts only E.164, which parses back to itself", () => {
    fc.assert(
      fc.property(fc.oneof(phoneish, fc.string()), (text) => {
        const result = parsePhoneNumber(text);
        if (result.ok) {
          expect(isE164(result.e164)).toBe(true);
          expect(parsePhoneNumber(result.e164)).toEqual(result);
          expect(parsePhoneNumber(`whatsapp:${result.e164}`)).toEqual(result);
        } else {
          expect(result.reason.length).toBeGreaterThan(0);
        }
      }),
    );
  });

  it.each([
    ["100 kB of digits", `+1${"5".repeat(100_000)}`],
    ["100 kB of separators", `+1${" -().".repeat(20_000)}5125550100`],
    ["100 kB of letters", "x".repeat(100_000)],
    ["100 kB of whatsapp: prefixes", "whatsapp:".repeat(11_000)],
  ])("refuses %s with a reason", (_what, text) => {
    const result = parsePhoneNumber(text);
    expect(result.ok).toBe(false);
  });
});
