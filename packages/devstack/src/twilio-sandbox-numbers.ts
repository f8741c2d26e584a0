// The Twilio sandbox's IncomingPhoneNumbers: the numbers its account owns (bought or ported),
// listed, fetched and updated as Twilio's REST API does, each keeping its voice configuration
// (VoiceUrl, StatusCallback…): where the sandbox sends a call to that number.
import { createHash } from "node:crypto";
import { API_VERSION, TwilioHttpError } from "./twilio-sandbox-http.ts";

/**
 * The numbers the sandbox's account owns, as a Twilio account owns the numbers it bought or
 * ported: the fictional ranges +1 512 555 0100–0199 and +34 911 230 100–199. The demo
 * businesses' numbers are among them; any other number is not CallFlow's to connect.
 */
export function isSandboxAccountNumber(e164: string): boolean {
  return /^\+151255501\d\d$/.test(e164) || /^\+349112301\d\d$/.test(e164);
}

const SANDBOX_NUMBER_RANGE = Array.from({ length: 100 }, (_, n) => String(100 + n)).flatMap((last) => [
  `+15125550${last}`,
  `+34911230${last}`,
]);

/** What a call to the number does, as set through the API (empty: not set). */
export interface SandboxNumberConfiguration {
  voiceUrl: string;
  voiceMethod: "GET" | "POST";
  statusCallback: string;
  statusCallbackMethod: "GET" | "POST";
}

export interface SandboxNumber extends SandboxNumberConfiguration {
  /** PN… */
  sid: string;
  e164: string;
}

/** The parameters of an update, by Twilio's names. */
const CONFIGURATION_PARAMETERS = {
  VoiceUrl: "voiceUrl",
  VoiceMethod: "voiceMethod",
  StatusCallback: "statusCallback",
  StatusCallbackMethod: "statusCallbackMethod",
} as const;

export interface NumberStore {
  /** GET IncomingPhoneNumbers.json, optionally filtered by PhoneNumber: one page with every match. */
  list(url: URL): Record<string, unknown>;
  /** GET IncomingPhoneNumbers/{sid}.json */
  fetch(sid: string): Record<string, unknown>;
  /** POST IncomingPhoneNumbers/{sid}.json: changes the parameters given, answers the number. */
  update(sid: string, form: URLSearchParams): Record<string, unknown>;
  /** The number's current configuration; null when the account does not own it. */
  find(e164: string): SandboxNumber | null;
}

const sidOf = (e164: string) => `PN${createHash("md5").update(e164).digest("hex")}`;

export function createNumberStore(options: { accountSid: string; ownsNumber: (e164: string) => boolean }): NumberStore {
  const { accountSid, ownsNumber } = options;
  const numbers = new Map<string, SandboxNumber>();
  const base = `/${API_VERSION}/Accounts/${accountSid}/IncomingPhoneNumbers`;

  /** A number comes into view (list, fetch) with Twilio's defaults: nothing configured. */
  function numberOf(e164: string): SandboxNumber {
    const sid = sidOf(e164);
    let number = numbers.get(sid);
    if (!number) {
      number = { sid, e164, voiceUrl: "", voiceMethod: "POST", statusCallback: "", statusCallbackMethod: "POST" };
      numbers.set(sid, number);
    }
    return number;
  }

  const bySid = (sid: string) => {
    const known = numbers.get(sid) ?? SANDBOX_NUMBER_RANGE.filter(ownsNumber).find((e164) => sidOf(e164) === sid);
    if (!known) throw new TwilioHttpError(404, 20404, `The requested resource ${base}/${sid}.json was not found`);
    return typeof known === "string" ? numberOf(known) : known;
  };

  const json = (number: SandboxNumber) => ({
    account_sid: accountSid,
    api_version: API_VERSION,
    capabilities: { voice: true, sms: true, mms: false, fax: false },
    friendly_name: number.e164,
    phone_number: number.e164,
    sid: number.sid,
    status: "in-use",
    status_callback: number.statusCallback,
    status_callback_method: number.statusCallbackMethod,
    voice_url: number.voiceUrl,
    voice_method: number.voiceMethod,
    voice_fallback_url: "",
    voice_fallback_method: "POST",
    uri: `${base}/${number.sid}.json`,
  });

  return {
    list(url) {
      const wanted = url.searchParams.get("PhoneNumber");
      const e164s = wanted === null ? SANDBOX_NUMBER_RANGE.filter(ownsNumber) : ownsNumber(wanted) ? [wanted] : [];
      return {
        incoming_phone_numbers: e164s.map((e164) => json(numberOf(e164))),
        end: Math.max(e164s.length - 1, 0),
        first_page_uri: `${base}.json?PageSize=50&Page=0`,
        next_page_uri: null,
        page: 0,
        page_size: 50,
        previous_page_uri: null,
        start: 0,
        uri: `${base}.json`,
      };
    },
    fetch: (sid) => json(bySid(sid)),
    update(sid, form) {
      const number = bySid(sid);
      const change: Partial<SandboxNumberConfiguration> = {};
      for (const [parameter, field] of Object.entries(CONFIGURATION_PARAMETERS)) {
        const value = form.get(parameter);
        if (value === null) continue;
        if (field === "voiceMethod" || field === "statusCallbackMethod") {
          const method = value.toUpperCase();
          if (method !== "GET" && method !== "POST") {
            throw new TwilioHttpError(400, 21701, `${parameter} must be GET or POST, not ${JSON.stringify(value)}`);
          }
          change[field] = method;
        } else {
          if (value !== "" && !isHttpUrl(value)) {
            throw new TwilioHttpError(400, 21502, `${parameter} is not a valid URL: ${JSON.stringify(value)}`);
          }
          change[field] = value;
        }
      }
      // Checked first, applied together: a refused update changes nothing.
      Object.assign(number, change);
      return json(number);
    },
    find: (e164) => (ownsNumber(e164) ? numberOf(e164) : null),
  };
}

function isHttpUrl(value: string): boolean {
  if (value.length > 4000) return false;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}
