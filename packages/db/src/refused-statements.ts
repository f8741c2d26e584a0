// Two statements break PGlite for everyone: `COPY ... FROM STDIN` makes the backend read client
// data that PGlite's wire-protocol entry point never has, and it exits (the whole process ends);
// `COPY ... PROGRAM` leaves the session answering nothing. So the socket never lets a statement
// that names STDIN or PROGRAM reach PGlite. A statement that merely mentions either word is
// refused too: a false refusal is safe, a missed one ends the API.

const REFUSED_WORDS = ["stdin", "program"].map((word) => Buffer.from(word, "latin1"));

// Bytes that continue an identifier (PostgreSQL's ident_cont, with every non-ASCII byte).
function continuesIdentifier(byte: number | undefined): boolean {
  if (byte === undefined) return false;
  return (
    (byte >= 0x61 && byte <= 0x7a) ||
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x5f ||
    byte === 0x24 ||
    byte >= 0x80
  );
}

// A byte before the word that makes it the tail of a longer identifier rather than the keyword.
// Digits and `$` are not counted: `1stdin` or `$stdin` are refused, whatever the lexer makes of them.
function startsIdentifierBefore(byte: number | undefined): boolean {
  if (byte === undefined) return false;
  return (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a) || byte === 0x5f || byte >= 0x80;
}

/**
 * The word (STDIN or PROGRAM, any case, not part of a longer identifier) that makes the socket
 * refuse this statement, wherever it stands: in a literal or a comment too, since no lexer here
 * knows every client setting (standard_conforming_strings, encodings) the backend lexes with.
 * One pass over the text per word: linear.
 */
export function refusedWord(sqlText: Uint8Array): string | null {
  for (const word of REFUSED_WORDS) {
    if (containsWord(sqlText, word)) return word.toString("latin1").toUpperCase();
  }
  return null;
}

function containsWord(text: Uint8Array, word: Buffer): boolean {
  for (let index = 0; index + word.length <= text.length; index++) {
    let match = true;
    for (let offset = 0; offset < word.length; offset++) {
      // ASCII letters only: OR 0x20 lower-cases A-Z and leaves a-z as they are.
      if (((text[index + offset] ?? 0) | 0x20) !== word[offset]) {
        match = false;
        break;
      }
    }
    if (!match) continue;
    if (startsIdentifierBefore(text[index - 1])) continue;
    if (continuesIdentifier(text[index + word.length])) continue;
    return true;
  }
  return false;
}

/** The statement that runs instead: it fails with a reason a person can act on, and reads nothing. */
export function refusalStatement(word: string): string {
  const reason = `a statement naming ${word} is not run on the embedded database's socket: COPY FROM STDIN and COPY ... PROGRAM stop PGlite`;
  const hint = "insert the rows with INSERT, or use a PostgreSQL server (DATABASE_URL) for COPY";
  return `do $refused$ begin raise exception using errcode = '0A000', message = '${reason.replaceAll("'", "''")}', hint = '${hint}'; end $refused$`;
}
