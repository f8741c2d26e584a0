// The dev executor's small expression language: the part of CEL that the Inngest SDK
// generates (`event.data.x == async.data.x` for `match`) and that CallFlow's functions
// write (`if`, `idempotency`, throttle keys). Anything beyond it is refused when the
// expression is parsed (at sync or when a wait is stored), never guessed at.
//
//   expr    := or
//   or      := and ("||" and)*
//   and     := unary ("&&" unary)*
//   unary   := "!" unary | compare
//   compare := primary (("==" | "!=") primary)?
//   primary := literal | path | "(" expr ")"
//   literal := 'string' | "string" | number | true | false | null
//   path    := ("event" | "async") ("." name)*
import canonicalizeModule from "canonicalize";

// The package is CommonJS declared as an ES module: the default import is the function itself.
const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

export type Expression =
  | { kind: "literal"; value: unknown }
  | { kind: "path"; root: string; keys: string[] }
  | { kind: "not"; operand: Expression }
  | { kind: "compare"; op: "==" | "!="; left: Expression; right: Expression }
  | { kind: "logic"; op: "&&" | "||"; left: Expression; right: Expression };

export class ExpressionError extends Error {
  override name = "ExpressionError";
}

type Token =
  | { type: "string" | "number"; value: string | number; at: number }
  | { type: "word"; value: string; at: number }
  | { type: "op"; value: string; at: number };

const OPERATORS = ["==", "!=", "&&", "||", "!", "(", ")", "."];
const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"' };
// Sticky patterns match at lastIndex only: each character is looked at a bounded number of times.
const NUMBER = /-?\d+(\.\d+)?([eE][+-]?\d+)?/y;
const WORD = /[A-Za-z_][A-Za-z0-9_]*/y;
const SPACE = /\s/;
/** Expressions come from a sync; none of CallFlow's or the SDK's is near this long. */
export const MAX_EXPRESSION_LENGTH = 4096;
const MAX_NESTING = 32;

function readString(source: string, start: number): { value: string; end: number } {
  const quote = source[start];
  const parts: string[] = [];
  let i = start + 1;
  for (;;) {
    if (i >= source.length) throw new ExpressionError(`unterminated string at ${start} in: ${source}`);
    const c = source[i] as string;
    if (c === quote) return { value: parts.join(""), end: i + 1 };
    if (c === "\\") {
      const next = source[i + 1];
      const escaped = next === undefined ? undefined : ESCAPES[next];
      if (escaped === undefined) throw new ExpressionError(`unsupported escape \\${next ?? ""} at ${i} in: ${source}`);
      parts.push(escaped);
      i += 2;
      continue;
    }
    parts.push(c);
    i++;
  }
}

function matchAt(pattern: RegExp, source: string, at: number): string | null {
  pattern.lastIndex = at;
  return pattern.exec(source)?.[0] ?? null;
}

function tokenize(source: string): Token[] {
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw new ExpressionError(`expression longer than ${MAX_EXPRESSION_LENGTH} characters`);
  }
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const char = source[i] as string;
    if (SPACE.test(char)) {
      i++;
      continue;
    }
    if (char === "'" || char === '"') {
      const { value, end } = readString(source, i);
      tokens.push({ type: "string", value, at: i });
      i = end;
      continue;
    }
    const number = char === "-" || (char >= "0" && char <= "9") ? matchAt(NUMBER, source, i) : null;
    if (number) {
      tokens.push({ type: "number", value: Number(number), at: i });
      i += number.length;
      continue;
    }
    const word = matchAt(WORD, source, i);
    if (word) {
      tokens.push({ type: "word", value: word, at: i });
      i += word.length;
      continue;
    }
    const op = OPERATORS.find((candidate) => source.startsWith(candidate, i));
    if (!op) throw new ExpressionError(`unsupported character "${char}" at ${i} in: ${source}`);
    tokens.push({ type: "op", value: op, at: i });
    i += op.length;
  }
  return tokens;
}

/** Parses an expression over the given roots (`event`, and `async` for waits); throws ExpressionError. */
export function parseExpression(source: string, roots: readonly string[] = ["event", "async"]): Expression {
  const tokens = tokenize(source);
  let position = 0;
  const peek = () => tokens[position];
  const fail = (message: string): never => {
    const token = peek();
    throw new ExpressionError(`${message} at ${token ? token.at : source.length} in: ${source}`);
  };
  const isOp = (value: string) => {
    const token = peek();
    return token?.type === "op" && token.value === value;
  };

  const parseOr = (): Expression => {
    let left = parseAnd();
    while (isOp("||")) {
      position++;
      left = { kind: "logic", op: "||", left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): Expression => {
    let left = parseUnary();
    while (isOp("&&")) {
      position++;
      left = { kind: "logic", op: "&&", left, right: parseUnary() };
    }
    return left;
  };
  // Nesting is bounded so a hostile expression cannot exhaust the stack.
  let depth = 0;
  const nested = <T>(parse: () => T): T => {
    if (++depth > MAX_NESTING) fail(`nested deeper than ${MAX_NESTING} levels`);
    const result = parse();
    depth--;
    return result;
  };
  const parseUnary = (): Expression => {
    if (isOp("!")) {
      position++;
      return { kind: "not", operand: nested(parseUnary) };
    }
    const left = parsePrimary();
    if (isOp("==") || isOp("!=")) {
      const op = (peek() as Token).value as "==" | "!=";
      position++;
      return { kind: "compare", op, left, right: parsePrimary() };
    }
    return left;
  };
  const parsePrimary = (): Expression => {
    const token = peek();
    if (!token) return fail("expression ends too early");
    if (token.type === "op" && token.value === "(") {
      position++;
      const inner = nested(parseOr);
      if (!isOp(")")) fail('expected ")"');
      position++;
      return inner;
    }
    if (token.type === "string" || token.type === "number") {
      position++;
      return { kind: "literal", value: token.value };
    }
    if (token.type === "word") {
      position++;
      if (token.value === "true" || token.value === "false") return { kind: "literal", value: token.value === "true" };
      if (token.value === "null") return { kind: "literal", value: null };
      if (!roots.includes(token.value))
        fail(`unknown name "${token.value}" (only ${roots.join(", ")} and literals are supported)`);
      const keys: string[] = [];
      while (isOp(".")) {
        position++;
        const key = peek();
        if (key?.type !== "word") fail('expected a field name after "."');
        keys.push((key as Token).value as string);
        position++;
      }
      if (isOp("(")) fail("function calls are not supported");
      return { kind: "path", root: token.value, keys };
    }
    return fail(`unexpected "${token.value}"`);
  };

  const expression = parseOr();
  if (position < tokens.length) fail(`unsupported "${(peek() as Token).value}"`);
  return expression;
}

/** Evaluates a parsed expression; a path that does not exist is null. */
export function evaluate(expression: Expression, scope: Record<string, unknown>): unknown {
  switch (expression.kind) {
    case "literal":
      return expression.value;
    case "path": {
      let value: unknown = scope[expression.root];
      for (const key of expression.keys) {
        if (value === null || typeof value !== "object" || !Object.hasOwn(value, key)) return null;
        value = (value as Record<string, unknown>)[key];
      }
      return value === undefined ? null : value;
    }
    case "not":
      return !truthy(evaluate(expression.operand, scope));
    case "compare": {
      const equal = sameValue(evaluate(expression.left, scope), evaluate(expression.right, scope));
      return expression.op === "==" ? equal : !equal;
    }
    case "logic": {
      const left = truthy(evaluate(expression.left, scope));
      if (expression.op === "&&") return left && truthy(evaluate(expression.right, scope));
      return left || truthy(evaluate(expression.right, scope));
    }
  }
}

/** Parses and evaluates in one go, as a boolean (for `if` conditions). */
export function matches(source: string, scope: Record<string, unknown>): boolean {
  return truthy(evaluate(parseExpression(source, Object.keys(scope)), scope));
}

const truthy = (value: unknown) => value === true;

function sameValue(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if (left === null || right === null || typeof left !== "object" || typeof right !== "object") return false;
  return canonicalJson(left) === canonicalJson(right);
}

/** RFC 8785 JSON (keys sorted at every level), as the SDK signs and compares it. */
export const canonicalJson = (value: unknown): string => canonicalize(value ?? null) ?? "null";

/**
 * An equality that every event matching `expression` must satisfy, as `<path>=<canonical
 * value>` of the `async` event, with `event` already bound: `event.data.sid == async.data.sid`
 * gives `data.sid="SM1"`. Waits are indexed by it, so an event looks at the waits it can
 * match instead of all of them. Null when the expression has no such conjunct.
 */
export function asyncEqualityKey(expression: Expression, scope: Record<string, unknown>): string | null {
  if (expression.kind === "logic") {
    if (expression.op !== "&&") return null;
    return asyncEqualityKey(expression.left, scope) ?? asyncEqualityKey(expression.right, scope);
  }
  if (expression.kind !== "compare" || expression.op !== "==") return null;
  const sides: Array<[Expression, Expression]> = [
    [expression.left, expression.right],
    [expression.right, expression.left],
  ];
  for (const [asyncSide, other] of sides) {
    if (asyncSide.kind !== "path" || asyncSide.root !== "async" || asyncSide.keys.length === 0) continue;
    if (other.kind === "path" && other.root === "async") continue;
    if (other.kind !== "path" && other.kind !== "literal") continue;
    const value = evaluate(other, scope);
    if (value === null || typeof value === "object") continue;
    return `${asyncSide.keys.join(".")}=${canonicalJson(value)}`;
  }
  return null;
}

/** Every scalar leaf (outside arrays) of an event as `<path>=<canonical value>`: the keys it can match. */
export function scalarLeaves(value: unknown, limit = 2000): string[] | null {
  const leaves: string[] = [];
  const walk = (node: unknown, path: string): boolean => {
    if (node === null || node === undefined || Array.isArray(node)) return true;
    if (typeof node === "object") {
      for (const [key, child] of Object.entries(node)) {
        if (!walk(child, path ? `${path}.${key}` : key)) return false;
      }
      return true;
    }
    leaves.push(`${path}=${canonicalJson(node)}`);
    return leaves.length <= limit;
  };
  return walk(value, "") ? leaves : null;
}
