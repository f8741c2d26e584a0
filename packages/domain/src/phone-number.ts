import {
  type CountryCode,
  type PhoneNumber,
  parsePhoneNumberFromString,
  validatePhoneNumberLength,
} from "libphonenumber-js";
import { z } from "zod";

export type { CountryCode };

export type PhoneNumberResult = { ok: true; e164: string } | { ok: false; reason: string };

/** The shape the database stores (phone_numbers.e164, contacts.e164 check constraints). */
const E164_SHAPE = /^\+[1-9][0-9]{6,14}$/;

/** What Twilio puts in `From` when a caller withholds their number, in words. */
const WITHHELD_WORDS = new Set(["anonymous", "restricted", "unknown", "private", "unavailable", "blocked", "withheld"]);

/**
 * The same, as Twilio's numeric stand-ins: ANONYMOUS, RESTRICTED, BLOCKED, UNKNOWN and
 * UNAVAILABLE spelled on a keypad. Some of them parse as real-looking numbers, so they are
 * refused by name before validation.
 */
const WITHHELD_NUMBERS = new Set(["+266696687", "+7378742833", "+2562533", "+8656696", "+86282452253"]);

const regionNames = new Intl.DisplayNames(["en"], { type: "region" });

/**
 * Whether `s` is already in E.164 form as stored: "+", a non-zero digit, 7 to 15 digits in
 * all, nothing else. A shape check only; `parsePhoneNumber` decides whether the number exists.
 */
export function isE164(s: string): boolean {
  return E164_SHAPE.test(s);
}

/**
 * Reads a phone number typed by a person or sent by Twilio ("+1 (512) 555-0100",
 * "whatsapp:+34911230100") into E.164. Numbers without a country code need `defaultCountry`.
 *
 * Validity is libphonenumber-js's `isValid()` with its default ("min") metadata, which checks
 * the number against each country's number ranges, not only its length. That metadata accepts
 * the fictional US 555-01xx numbers (+15125550100) used in demos and tests, so no looser check
 * is needed for them.
 */
export function parsePhoneNumber(input: string, defaultCountry?: CountryCode): PhoneNumberResult {
  // The same few numbers come back with every callback of a call, and reading one with its
  // country's metadata was a tenth of a voice webhook's CPU: answers to short inputs are kept.
  if (input.length > MAX_REMEMBERED_INPUT) return readPhoneNumber(input, defaultCountry);
  const key = `${defaultCountry ?? ""}|${input}`;
  let result = remembered.get(key);
  if (!result) {
    result = Object.freeze(readPhoneNumber(input, defaultCountry));
    if (remembered.size >= MAX_REMEMBERED) remembered.clear();
    remembered.set(key, result);
  }
  return result;
}

/** Inputs longer than any way of writing a phone number are read each time, never kept. */
const MAX_REMEMBERED_INPUT = 40;
const MAX_REMEMBERED = 10_000;
const remembered = new Map<string, PhoneNumberResult>();

function readPhoneNumber(input: string, defaultCountry?: CountryCode): PhoneNumberResult {
  const text = input
    .trim()
    .replace(/^whatsapp:/i, "")
    .trim();
  if (text === "") {
    return { ok: false, reason: "No phone number was given. Enter one with its country code, like +1 512 555 0100." };
  }
  if (WITHHELD_WORDS.has(text.toLowerCase()) || WITHHELD_NUMBERS.has(text.replace(/[^+0-9]/g, ""))) {
    return {
      ok: false,
      reason: `The caller's number is withheld (${quoted(text)}), so there is no number to reply to.`,
    };
  }
  if (/^(client|sip):/i.test(text)) {
    return {
      ok: false,
      reason: `${quoted(text)} is a browser or SIP address, not a phone number, so it cannot receive WhatsApp or SMS.`,
    };
  }
  if (/\p{L}/u.test(text)) {
    return {
      ok: false,
      reason: `${quoted(text)} contains letters. A phone number has only digits, spaces and + ( ) - . characters.`,
    };
  }
  if (!text.startsWith("+") && defaultCountry === undefined) {
    return {
      ok: false,
      reason: `${quoted(text)} has no country code. Start it with + and the country code, like +1 512 555 0100.`,
    };
  }

  const parsed = parsePhoneNumberFromString(text, defaultCountry);
  if (parsed?.isValid()) {
    return { ok: true, e164: parsed.number };
  }
  return { ok: false, reason: invalidReason(text, defaultCountry, parsed) };
}

/** The input as a refusal quotes it: cut short, so a pasted essay does not come back whole. */
function quoted(text: string): string {
  return text.length > 40 ? `"${[...text].slice(0, 40).join("")}…"` : `"${text}"`;
}

function invalidReason(text: string, defaultCountry: CountryCode | undefined, parsed: PhoneNumber | undefined): string {
  switch (validatePhoneNumberLength(text, defaultCountry)) {
    case "NOT_A_NUMBER":
      return `${quoted(text)} is not a phone number. Enter digits with the country code, like +1 512 555 0100.`;
    case "INVALID_COUNTRY":
      return `${quoted(text)} does not start with a known country code. Check the digits after the +.`;
    case "TOO_SHORT":
      return `${quoted(text)} is too short to be a phone number. Check that no digits are missing.`;
    case "TOO_LONG":
      return `${quoted(text)} is too long to be a phone number. Check for extra digits.`;
    default: {
      // An invalid number often has no single country (+44 is shared by GB, GG, IM, JE).
      const where = parsed?.country
        ? ` in ${regionNames.of(parsed.country) ?? parsed.country}`
        : parsed
          ? ` for country code +${parsed.countryCallingCode}`
          : "";
      return `${quoted(text)} is not a valid phone number${where}. Check the country code and the digits.`;
    }
  }
}

/** A phone number as typed or sent by Twilio in, E.164 out. Needs the country code. */
export const e164Schema = z.string().transform((input, ctx) => {
  const result = parsePhoneNumber(input);
  if (!result.ok) {
    ctx.addIssue({ code: "custom", message: result.reason });
    return z.NEVER;
  }
  return result.e164;
});
