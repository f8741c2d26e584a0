import { describe, expect, it } from "vitest";
import { refusedWord } from "./refused-statements.ts";

const check = (text: string) => refusedWord(Buffer.from(text, "utf8"));

describe("refusedWord", () => {
  it.each([
    ["copy t from stdin", "STDIN"],
    ["COPY t FROM STDIN WITH (format csv)", "STDIN"],
    ["copy t from/**/StdIn", "STDIN"],
    ["copy t from\nstdin;", "STDIN"],
    ["select 1; copy t from stdin", "STDIN"],
    ["copy t from program 'cat'", "PROGRAM"],
    ["copy t to PROGRAM 'cat'", "PROGRAM"],
    ["select '/dev/stdin'", "STDIN"],
    ["select 1stdin", "STDIN"],
  ])("refuses %j", (text, word) => {
    expect(check(text)).toBe(word);
  });

  it.each([
    ["select * from call_logs"],
    ["copy t to stdout"],
    ["select my_stdin, stdin_x, stdin1, programs, reprogram from t"],
    ["select 'é' || éstdin from t"],
    [""],
  ])("lets %j through", (text) => {
    expect(check(text)).toBeNull();
  });

  it("scans a 20 MB statement of near-misses, and finds the word at its end", () => {
    const nearMisses = "stdi progra ".repeat(1_700_000);
    expect(refusedWord(Buffer.from(nearMisses, "latin1"))).toBeNull();
    expect(refusedWord(Buffer.from(`${nearMisses} stdin`, "latin1"))).toBe("STDIN");
  });
});
