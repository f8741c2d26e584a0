// A compiled query with its `$n` parameters written into its text as literals, so that it can
// travel in one simple-protocol message together with its transaction's set-up (a message of
// several statements cannot carry bound parameters). Each value becomes the text node-postgres
// would have bound for it, quoted, its type left to the server as a bound one is: the query
// means what it meant with parameters. Only the query's text (ours) is scanned, once.
import pg from "pg";

/** Postgres text cannot hold NUL; the SQLSTATE is the one Postgres gives a bound value with it. */
export class NulCharacterError extends Error {
  readonly code = "22021";
  constructor() {
    super("a Postgres literal cannot hold a NUL character");
  }
}

/**
 * A string as a Postgres literal. E'' reads backslashes as escapes whatever
 * standard_conforming_strings says, so doubling them and the quotes is the whole escape.
 */
export function quoteLiteral(text: string): string {
  if (text.includes("\0")) throw new NulCharacterError();
  return `E'${text.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}

// node-postgres's own conversion of a bound value to text (Date, array, object, number…);
// exported by pg but missing from its type definitions.
const { prepareValue } = (pg as unknown as { utils: { prepareValue(value: unknown): unknown } }).utils;

function literalOf(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (value instanceof Uint8Array) return quoteLiteral(`\\x${Buffer.from(value).toString("hex")}`);
  return quoteLiteral(String(prepareValue(value)));
}

const isDigit = (code: number) => code >= 48 && code <= 57;
/** Characters that continue an identifier, where `$` is part of the name, not a parameter. */
const IDENTIFIER_CHARACTER = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_QUOTE_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/** `text` with every `$n` outside literals, quoted names and comments replaced by parameter n. */
export function inlineParameters(text: string, parameters: readonly unknown[]): string {
  if (parameters.length === 0) return text;
  const pieces: string[] = [];
  let copiedUpTo = 0;
  let i = 0;
  const unterminated = (what: string) => new Error(`unterminated ${what} in a compiled query`);
  while (i < text.length) {
    const character = text[i];
    if (character === "'" || character === '"') {
      // A literal or a quoted name: a doubled quote stays inside; in E'' a backslash escapes.
      const escapes = character === "'" && i > 0 && /[Ee]/.test(text[i - 1] ?? "");
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw unterminated("quote");
        if (escapes && text[j] === "\\") j += 2;
        else if (text[j] === character && text[j + 1] === character) j += 2;
        else if (text[j] === character) break;
        else j++;
      }
      i = j + 1;
    } else if (character === "-" && text[i + 1] === "-") {
      const end = text.indexOf("\n", i);
      i = end === -1 ? text.length : end + 1;
    } else if (character === "/" && text[i + 1] === "*") {
      let depth = 1;
      let j = i + 2;
      while (depth > 0) {
        if (j >= text.length) throw unterminated("comment");
        const pair = text.slice(j, j + 2);
        if (pair === "/*" || pair === "*/") {
          depth += pair === "/*" ? 1 : -1;
          j += 2;
        } else j++;
      }
      i = j;
    } else if (character === "$" && !(i > 0 && IDENTIFIER_CHARACTER.test(text[i - 1] ?? ""))) {
      if (isDigit(text.charCodeAt(i + 1))) {
        let j = i + 1;
        while (isDigit(text.charCodeAt(j))) j++;
        const index = Number(text.slice(i + 1, j)) - 1;
        if (index >= parameters.length) throw new Error(`a compiled query names $${index + 1} without its value`);
        pieces.push(text.slice(copiedUpTo, i), literalOf(parameters[index]));
        copiedUpTo = i = j;
      } else {
        DOLLAR_QUOTE_TAG.lastIndex = i;
        const tag = DOLLAR_QUOTE_TAG.exec(text)?.[0];
        if (tag) {
          const end = text.indexOf(tag, i + tag.length);
          if (end === -1) throw unterminated("dollar quote");
          i = end + tag.length;
        } else i++;
      }
    } else i++;
  }
  pieces.push(text.slice(copiedUpTo));
  return pieces.join("");
}
