import { z } from "zod";

/** The placeholders a template may use, as `{{business_name}}` or `{{ business_name }}`. */
export const templateVariableNames = [
  "business_name",
  "caller_number",
  "caller_name",
  "call_time",
  "business_phone",
] as const;

export type TemplateVariableName = (typeof templateVariableNames)[number];

/** Values for one message. A missing value renders as "", except caller_name (see callerNameFallback). */
export type TemplateVariables = Partial<Record<TemplateVariableName, string | null>>;

/**
 * What `{{caller_name}}` becomes when the caller's name is not known, by the template's
 * language. English says "Hi there,". Other languages have no such word: the name is left
 * out with the space before it ("Hola {{caller_name}}," reads "Hola,"). A WhatsApp variable
 * cannot be empty, so one that would be is given the word after `alone`.
 */
const CALLER_NAME_FALLBACKS: Readonly<Record<string, { inText: string; alone: string }>> = {
  en: { inText: "there", alone: "there" },
  es: { inText: "", alone: "cliente" },
  pt: { inText: "", alone: "cliente" },
  it: { inText: "", alone: "cliente" },
  fr: { inText: "", alone: "client" },
  de: { inText: "", alone: "Kunde" },
};

/** The caller-name fallback of a language ("es", "pt-BR"); languages without one leave the name out. */
export function callerNameFallback(language = "en"): { inText: string; alone: string } {
  return CALLER_NAME_FALLBACKS[language.split("-")[0] ?? ""] ?? { inText: "", alone: "" };
}

/** Believable values for previews in the dashboard and for checking a template's placeholders. */
export const sampleVariables: Readonly<Record<TemplateVariableName, string>> = {
  business_name: "Rivera Plumbing",
  caller_number: "+15125550100",
  caller_name: "Sam",
  call_time: "Tue 3:05 PM",
  business_phone: "+15125550199",
};

export type TemplateRenderFailure = { ok: false; reason: string; unknown: string[] };
export type TemplateRenderResult = { ok: true; text: string } | TemplateRenderFailure;
export type WhatsAppVariablesResult = { ok: true; variables: Record<string, string> } | TemplateRenderFailure;

const knownNames = new Set<string>(templateVariableNames);
const knownList = templateVariableNames.map((name) => `{{${name}}}`).join(", ");

function isKnown(name: string): name is TemplateVariableName {
  return knownNames.has(name);
}

/** A template read into literal text and placeholder names, in order. */
type TemplatePart = { text: string } | { name: string };

const NOT_CLOSED = "A placeholder is not closed. Write it with two braces on each side, like {{business_name}}.";

/**
 * Reads `{{ name }}` placeholders in one left-to-right pass: linear in the text's length
 * whatever it holds (a backtracking pattern here let `{{` + spaces freeze the process).
 * A placeholder's name has no braces; `{{` that does not end in `}}` before the next
 * brace, and a `}}` outside a placeholder, make the template malformed.
 */
function parseTemplate(text: string): { parts: TemplatePart[]; malformed: boolean } {
  const parts: TemplatePart[] = [];
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf("{{", at);
    const literal = text.slice(at, open === -1 ? text.length : open);
    if (literal.includes("}}")) return { parts, malformed: true };
    if (literal) parts.push({ text: literal });
    if (open === -1) break;
    let close = open + 2;
    while (close < text.length && text[close] !== "{" && text[close] !== "}") close++;
    if (!text.startsWith("}}", close)) return { parts, malformed: true };
    parts.push({ name: text.slice(open + 2, close).trim() });
    at = close + 2;
  }
  return { parts, malformed: false };
}

const namesOf = (parts: TemplatePart[]) => parts.flatMap((part) => ("name" in part ? [part.name] : []));

/** The placeholder names a template uses, each once, in order of first use; unknown ones too. */
export function templatePlaceholders(text: string): string[] {
  return [...new Set(namesOf(parseTemplate(text).parts))];
}

/**
 * Fills in a template's placeholders. An unknown placeholder or a stray `{{` / `}}` is an
 * error rather than text sent to a caller. Values are inserted in one pass, so a value that
 * itself looks like a placeholder (a caller named "{{business_name}}") stays as it is.
 */
export function renderTemplate(text: string, variables: TemplateVariables, language = "en"): TemplateRenderResult {
  const { parts, malformed } = parseTemplate(text);
  const unknown = [...new Set(namesOf(parts).filter((name) => !isKnown(name)))];
  if (unknown.length > 0) {
    const list = unknown.map((name) => `{{${name}}}`).join(", ");
    return {
      ok: false,
      reason: `Unknown placeholder${unknown.length > 1 ? "s" : ""} ${list}. Use ${knownList}.`,
      unknown,
    };
  }
  if (malformed) return { ok: false, reason: NOT_CLOSED, unknown: [] };
  const fallback = callerNameFallback(language).inText;
  const out: string[] = [];
  for (const part of parts) {
    if (!("name" in part)) {
      out.push(part.text);
      continue;
    }
    const value = variables[part.name as TemplateVariableName]?.trim() ?? "";
    if (part.name !== "caller_name" || value !== "") out.push(value);
    else if (fallback !== "") out.push(fallback);
    // A name left out takes the space before it along: "Hola {{caller_name}}," is "Hola,".
    else if (out.length > 0) out.push(withoutTrailingSpaces(out.pop() as string));
  }
  return { ok: true, text: out.join("") };
}

/** A loop, not /[ \t]+$/: that pattern backtracks quadratically over a long run of spaces. */
function withoutTrailingSpaces(text: string): string {
  let end = text.length;
  while (end > 0 && (text[end - 1] === " " || text[end - 1] === "\t")) end--;
  return text.slice(0, end);
}

/**
 * The time of a call as a caller reads it, in the business's timezone and the template's
 * language: "Sun 3:05 PM", "dom, 15:05". The weekday is there because quiet hours can hold a
 * message until the next day. Newer ICU puts a narrow no-break space before AM/PM; it is
 * replaced by a plain space because that one character would make the whole SMS UCS-2 (70
 * characters a segment instead of 160).
 */
export function formatCallTime(at: Date, timeZone: string, language = "en-US"): string {
  return callTimeFormat(timeZone, language)
    .format(at)
    .replace(/[\u202f\u00a0]/g, " ");
}

// Making a formatter costs far more than formatting with one (each message renders a time):
// kept per time zone and language, the few a deployment's businesses use; emptied when full.
const callTimeFormats = new Map<string, Intl.DateTimeFormat>();
const CALL_TIME_FORMATS_KEPT = 256;

function callTimeFormat(timeZone: string, language: string): Intl.DateTimeFormat {
  const key = `${timeZone} ${language}`;
  let format = callTimeFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(knownLocale(language), {
      timeZone,
      weekday: "short",
      hour: "numeric",
      minute: "2-digit",
    });
    if (callTimeFormats.size >= CALL_TIME_FORMATS_KEPT) callTimeFormats.clear();
    callTimeFormats.set(key, format);
  }
  return format;
}

/** The language as a locale Intl formats in; English (US) when Intl does not know it. */
function knownLocale(language: string): string {
  try {
    return Intl.DateTimeFormat.supportedLocalesOf([language])[0] ?? "en-US";
  } catch {
    return "en-US";
  }
}

const WHATSAPP_KEY = /^[1-9][0-9]*$/;

/** A template's WhatsApp Content variables: {"1": "{{business_name}}", "2": "..."}. */
export const whatsAppVariablesSchema = z.record(
  z.string().regex(WHATSAPP_KEY, { error: "WhatsApp variable keys are the numbers 1, 2, 3… of the Content template." }),
  z.string(),
);

/**
 * Renders each WhatsApp Content variable. WhatsApp refuses a variable that is empty or has
 * line breaks, tabs or runs of spaces, so whitespace is folded to single spaces and an empty
 * result is an error naming the variable.
 */
export function renderWhatsAppVariables(
  variables: Record<string, string>,
  values: TemplateVariables,
  language = "en",
): WhatsAppVariablesResult {
  const badKeys = Object.keys(variables).filter((key) => !WHATSAPP_KEY.test(key));
  if (badKeys.length > 0) {
    return {
      ok: false,
      reason: `WhatsApp variable keys are the numbers 1, 2, 3… of the Content template; ${badKeys.map((key) => `"${key}"`).join(", ")} ${badKeys.length > 1 ? "are" : "is"} not.`,
      unknown: [],
    };
  }

  const rendered: Record<string, string> = {};
  const unknown = new Set<string>();
  for (const [key, text] of Object.entries(variables)) {
    const result = renderTemplate(text, values, language);
    if (!result.ok) {
      if (result.unknown.length === 0) return { ...result, reason: `WhatsApp variable {{${key}}}: ${result.reason}` };
      for (const name of result.unknown) unknown.add(name);
      continue;
    }
    const folded = result.text.replace(/\s+/g, " ").trim();
    // A variable that is only the unknown name gets the language's word for it.
    const value =
      folded === "" && templatePlaceholders(text).includes("caller_name") ? callerNameFallback(language).alone : folded;
    if (value === "") {
      return {
        ok: false,
        reason: `WhatsApp variable {{${key}}} is empty for this call, and WhatsApp refuses empty variables. Give it fixed text or a placeholder that always has a value.`,
        unknown: [],
      };
    }
    rendered[key] = value;
  }
  if (unknown.size > 0) {
    const list = [...unknown];
    return {
      ok: false,
      reason: `Unknown placeholder${list.length > 1 ? "s" : ""} ${list.map((name) => `{{${name}}}`).join(", ")} in the WhatsApp variables. Use ${knownList}.`,
      unknown: list,
    };
  }
  return { ok: true, variables: rendered };
}
