// The TwiML the sandbox runs, read the way Twilio reads it: an XML document (a small parser
// in one forward pass: every search moves on from where the last one ended, so the work is
// linear in the document's length, with no regular expressions), then the verbs CallFlow uses
// (Say, Dial with one Number, Record, Hangup) with their attributes checked. Anything else is
// an error with Twilio's code: 12100 for a document that does not parse, 12200 for TwiML the
// sandbox does not run.

/** Twilio reads at most 64 kB of TwiML. */
const MAX_TWIML_LENGTH = 64 * 1024;
const MAX_DEPTH = 16;
const MAX_ELEMENTS = 1_000;

export class TwimlError extends Error {
  constructor(
    /** 12100: the document does not parse; 12200: it is not TwiML the sandbox runs. */
    readonly code: 12100 | 12200,
    message: string,
  ) {
    super(message);
  }
}

export interface XmlElement {
  name: string;
  attributes: Map<string, string>;
  children: XmlElement[];
  text: string;
}

const parseError = (message: string) => new TwimlError(12100, `Document parse failure: ${message}`);

const isNameStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 58;
const isNameChar = (c: number) => isNameStart(c) || (c >= 48 && c <= 57) || c === 45 || c === 46;
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

const NAMED_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Replaces XML's five named entities and numeric references; anything else is an error. */
function decodeEntities(text: string): string {
  let at = text.indexOf("&");
  if (at === -1) return text;
  let out = "";
  let from = 0;
  while (at !== -1) {
    const end = text.indexOf(";", at);
    if (end === -1 || end - at > 12) throw parseError("an '&' that starts no entity (write &amp;)");
    const name = text.slice(at + 1, end);
    let decoded = NAMED_ENTITIES[name];
    if (decoded === undefined && name.startsWith("#")) {
      const code = name[1] === "x" ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
      if (Number.isInteger(code) && code > 0 && code <= 0x10ffff) decoded = String.fromCodePoint(code);
    }
    if (decoded === undefined) throw parseError(`unknown entity &${name};`);
    out += text.slice(from, at) + decoded;
    from = end + 1;
    at = text.indexOf("&", from);
  }
  return out + text.slice(from);
}

/** A well-formed XML document's root element; no DTDs (no entity expansion), no namespaces. */
export function parseXml(source: string): XmlElement {
  if (source.length > MAX_TWIML_LENGTH) throw parseError(`longer than ${MAX_TWIML_LENGTH} characters`);
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  let elements = 0;
  let i = source.charCodeAt(0) === 0xfeff ? 1 : 0;

  const readName = () => {
    const start = i;
    if (!isNameStart(source.charCodeAt(i))) throw parseError(`expected a name at offset ${i}`);
    while (i < source.length && isNameChar(source.charCodeAt(i))) i++;
    return source.slice(start, i);
  };
  const skipSpace = () => {
    while (i < source.length && isSpace(source.charCodeAt(i))) i++;
  };
  const skipPast = (terminator: string, what: string) => {
    const end = source.indexOf(terminator, i);
    if (end === -1) throw parseError(`${what} is not closed`);
    const inner = source.slice(i, end);
    i = end + terminator.length;
    return inner;
  };

  while (i < source.length) {
    const current = stack.at(-1);
    if (source[i] !== "<") {
      const end = source.indexOf("<", i);
      const text = source.slice(i, end === -1 ? source.length : end);
      i = end === -1 ? source.length : end;
      if (current) current.text += decodeEntities(text);
      else if (text.trim() !== "") throw parseError("text outside the root element");
    } else if (source.startsWith("<!--", i)) {
      i += 4;
      skipPast("-->", "a comment");
    } else if (source.startsWith("<![CDATA[", i)) {
      i += 9;
      const text = skipPast("]]>", "a CDATA section");
      if (!current) throw parseError("CDATA outside the root element");
      current.text += text;
    } else if (source.startsWith("<?", i)) {
      i += 2;
      skipPast("?>", "a processing instruction");
    } else if (source.startsWith("<!", i)) {
      throw parseError("DOCTYPE and other declarations are not allowed in TwiML");
    } else if (source.startsWith("</", i)) {
      i += 2;
      const name = readName();
      skipSpace();
      if (source[i] !== ">") throw parseError(`expected '>' to close </${name}`);
      i++;
      if (current?.name !== name) throw parseError(`</${name}> does not close <${current?.name ?? "nothing"}>`);
      stack.pop();
    } else {
      i++;
      const element = readOpeningTag();
      if (++elements > MAX_ELEMENTS) throw parseError(`more than ${MAX_ELEMENTS} elements`);
      if (current) current.children.push(element);
      else if (root) throw parseError("more than one root element");
      else root = element;
      if (source.startsWith("/>", i)) i += 2;
      else {
        i++;
        stack.push(element);
        if (stack.length > MAX_DEPTH) throw parseError(`nested deeper than ${MAX_DEPTH} elements`);
      }
    }
  }
  if (stack.length) throw parseError(`<${stack.at(-1)?.name}> is not closed`);
  if (!root) throw parseError("no root element");
  return root;

  /** From after '<' to the '>' or '/>' that ends the tag (left unread). */
  function readOpeningTag(): XmlElement {
    const element: XmlElement = { name: readName(), attributes: new Map(), children: [], text: "" };
    for (;;) {
      const spaced = i < source.length && isSpace(source.charCodeAt(i));
      skipSpace();
      if (i >= source.length) throw parseError(`<${element.name}> is not closed`);
      if (source[i] === ">" || source.startsWith("/>", i)) return element;
      if (!spaced) throw parseError(`expected a space before the attributes of <${element.name}>`);
      const name = readName();
      skipSpace();
      if (source[i] !== "=") throw parseError(`attribute ${name} of <${element.name}> has no value`);
      i++;
      skipSpace();
      const quote = source[i];
      if (quote !== '"' && quote !== "'") throw parseError(`attribute ${name} of <${element.name}> is not quoted`);
      i++;
      const raw = skipPast(quote, `attribute ${name} of <${element.name}>`);
      if (raw.includes("<")) throw parseError(`attribute ${name} of <${element.name}> contains '<'`);
      if (element.attributes.has(name)) throw parseError(`attribute ${name} repeated in <${element.name}>`);
      element.attributes.set(name, decodeEntities(raw));
    }
  }
}

export type TwimlVerb =
  | { verb: "Say"; text: string; language: string | null }
  | { verb: "Dial"; number: string; timeoutSeconds: number; action: string | null }
  | {
      verb: "Record";
      action: string | null;
      timeoutSeconds: number;
      maxLengthSeconds: number;
      recordingStatusCallback: string | null;
      recordingStatusCallbackEvents: string[];
    }
  | { verb: "Hangup" };

const schemaError = (message: string) => new TwimlError(12200, `Schema validation warning: ${message}`);

/** The attributes each verb may carry here: what CallFlow writes, with Twilio's defaults. */
const allowedAttributes: Record<string, readonly string[]> = {
  Say: ["language", "voice"],
  Dial: ["action", "method", "timeout", "answerOnBridge", "callerId"],
  Number: [],
  Record: [
    "action",
    "method",
    "timeout",
    "maxLength",
    "playBeep",
    "finishOnKey",
    "trim",
    "recordingStatusCallback",
    "recordingStatusCallbackMethod",
    "recordingStatusCallbackEvent",
  ],
  Hangup: [],
};

/** The verbs of a TwiML document, checked; relative URLs are resolved against `documentUrl`. */
export function parseTwiml(source: string, documentUrl: string): TwimlVerb[] {
  const root = parseXml(source);
  if (root.name !== "Response") throw schemaError(`the root element is <${root.name}>, not <Response>`);
  if (root.text.trim() !== "") throw schemaError("<Response> holds text outside any verb");
  return root.children.map((element) => {
    checkAttributes(element);
    const url = (name: string) => resolveUrl(element, name, documentUrl);
    const post = (name: string) => {
      const method = element.attributes.get(name);
      if (method !== undefined && method.toUpperCase() !== "POST")
        throw schemaError(`${element.name} ${name}="${method}": the sandbox requests callbacks with POST only`);
    };
    switch (element.name) {
      case "Say":
        if (element.children.length) throw schemaError("<Say> holds elements; it takes text");
        if (element.text.trim() === "") throw schemaError("<Say> has no text");
        return { verb: "Say", text: element.text.trim(), language: element.attributes.get("language") ?? null };
      case "Dial": {
        post("method");
        return {
          verb: "Dial",
          number: dialledNumber(element),
          timeoutSeconds: whole(element, "timeout", 30, 1, 600),
          action: url("action"),
        };
      }
      case "Record":
        post("method");
        post("recordingStatusCallbackMethod");
        if (element.children.length || element.text.trim() !== "") throw schemaError("<Record> takes no content");
        return {
          verb: "Record",
          // Twilio's default action is the document's own URL.
          action: url("action") ?? documentUrl,
          timeoutSeconds: whole(element, "timeout", 5, 0, 3600),
          maxLengthSeconds: whole(element, "maxLength", 3600, 1, 14_400),
          recordingStatusCallback: url("recordingStatusCallback"),
          recordingStatusCallbackEvents: (element.attributes.get("recordingStatusCallbackEvent") ?? "completed")
            .split(" ")
            .filter((event) => event !== ""),
        };
      case "Hangup":
        if (element.children.length || element.text.trim() !== "") throw schemaError("<Hangup> takes no content");
        return { verb: "Hangup" };
      default:
        throw schemaError(`<${element.name}> is not a verb the sandbox runs (CallFlow uses Say, Dial, Record, Hangup)`);
    }
  });
}

function checkAttributes(element: XmlElement) {
  const allowed = allowedAttributes[element.name];
  if (!allowed) return;
  for (const name of element.attributes.keys()) {
    if (!allowed.includes(name))
      throw schemaError(`<${element.name}> has an attribute the sandbox does not run: ${name}`);
  }
}

function dialledNumber(dial: XmlElement): string {
  const [only, ...more] = dial.children;
  if (!only || more.length) throw schemaError("<Dial> must hold exactly one <Number>");
  if (only.name !== "Number") throw schemaError(`<Dial> holds <${only.name}>; the sandbox dials a <Number> only`);
  checkAttributes(only);
  if (dial.text.trim() !== "") throw schemaError("<Dial> holds text beside its <Number>");
  const number = only.text.trim();
  if (!/^\+[1-9][0-9]{6,14}$/.test(number)) throw schemaError(`<Number> ${JSON.stringify(number)} is not E.164`);
  return number;
}

function whole(element: XmlElement, name: string, fallback: number, min: number, max: number): number {
  const value = element.attributes.get(name);
  if (value === undefined) return fallback;
  const parsed = /^\d{1,6}$/.test(value) ? Number(value) : Number.NaN;
  if (!(parsed >= min && parsed <= max))
    throw schemaError(`<${element.name}> ${name}="${value}" is not a whole number from ${min} to ${max}`);
  return parsed;
}

function resolveUrl(element: XmlElement, name: string, documentUrl: string): string | null {
  const value = element.attributes.get(name);
  if (value === undefined) return null;
  try {
    const url = new URL(value, documentUrl);
    // An absolute URL is called (and signed) exactly as written; a relative one as resolved.
    if (url.protocol === "http:" || url.protocol === "https:") return URL.canParse(value) ? value : url.toString();
  } catch {}
  throw schemaError(`<${element.name}> ${name}="${value}" is not a URL`);
}
