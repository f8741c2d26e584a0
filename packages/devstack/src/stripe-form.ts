// Stripe's request encoding: application/x-www-form-urlencoded with bracket notation for
// nesting (`metadata[organization_id]=org_1`, `line_items[0][price]=price_1`, `expand[]=x`).
// Parsing is linear in the input, bounded in depth and entries, and builds no object whose
// prototype a key could reach: nodes are Maps until the end, then null-prototype objects.

/** A parsed parameter: text, a list, or a hash (null prototype). */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };

export interface StripeFormLimits {
  /** Bracket levels below the top-level name (`a[b][c]` has 2). */
  maxDepth: number;
  /** Name=value pairs. */
  maxPairs: number;
}

export const defaultStripeFormLimits: StripeFormLimits = { maxDepth: 5, maxPairs: 1_000 };

/** Why a body or query string is not a Stripe form; `param` is the offending name when there is one. */
export class StripeFormError extends Error {
  constructor(
    message: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

type Node = string | ListNode | HashNode;
class ListNode {
  readonly items: Node[] = [];
}
class HashNode {
  readonly entries = new Map<string, Node>();
}

const CANONICAL_INDEX = /^(?:0|[1-9][0-9]{0,5})$/;

/** Parses a form body or query string (without the leading `?`). Throws StripeFormError. */
export function parseStripeForm(text: string, limits: StripeFormLimits = defaultStripeFormLimits) {
  const root = new HashNode();
  let pairs = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("&", start);
    if (end === -1) end = text.length;
    if (end > start) {
      pairs += 1;
      if (pairs > limits.maxPairs) {
        throw new StripeFormError(`Too many parameters: at most ${limits.maxPairs} name=value pairs are accepted.`);
      }
      const pair = text.slice(start, end);
      const equals = pair.indexOf("=");
      const name = decode(equals === -1 ? pair : pair.slice(0, equals));
      const value = equals === -1 ? "" : decode(pair.slice(equals + 1));
      assign(root, name, value, limits);
    }
    start = end + 1;
  }
  return toHash(root, "");
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch {
    throw new StripeFormError("The request is not valid form encoding: it has a malformed percent-escape.");
  }
}

/** `a[b][0][]` → ["a", "b", "0", ""]; one pass over the name. */
function splitName(name: string, limits: StripeFormLimits): string[] {
  const open = name.indexOf("[");
  const head = open === -1 ? name : name.slice(0, open);
  if (head === "" || head.includes("]")) throw new StripeFormError(`Invalid parameter name: ${quote(name)}.`, name);
  const segments = [head];
  let at = open;
  while (at !== -1 && at < name.length) {
    if (name[at] !== "[") throw new StripeFormError(`Invalid parameter name: ${quote(name)}.`, name);
    const close = name.indexOf("]", at + 1);
    const segment = close === -1 ? "" : name.slice(at + 1, close);
    if (close === -1 || segment.includes("[")) {
      throw new StripeFormError(`Invalid parameter name: ${quote(name)} has an unbalanced bracket.`, name);
    }
    segments.push(segment);
    if (segments.length - 1 > limits.maxDepth) {
      throw new StripeFormError(`Parameter ${quote(head)} is nested deeper than ${limits.maxDepth} levels.`, head);
    }
    at = close + 1;
  }
  for (const segment of segments) {
    if (segment === "__proto__") throw new StripeFormError(`Invalid parameter name: ${quote(name)}.`, name);
  }
  return segments;
}

function assign(root: HashNode, name: string, value: string, limits: StripeFormLimits) {
  const segments = splitName(name, limits);
  let parent: HashNode | ListNode = root;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    const last = i === segments.length - 1;
    const nextKind = last ? "value" : segments[i + 1] === "" ? "list" : "hash";
    if (parent instanceof ListNode) {
      // Only `name[]=value` appends; `name[][x]` would need Rack's grouping rules, which no SDK uses.
      if (!last) throw new StripeFormError(`Invalid parameter name: ${quote(name)}: [] must come last.`, name);
      parent.items.push(value);
      return;
    }
    const existing = parent.entries.get(segment);
    if (last) {
      if (existing !== undefined && typeof existing !== "string") throw conflict(segments, i);
      parent.entries.set(segment, value);
      return;
    }
    const wanted = nextKind === "list" ? ListNode : HashNode;
    if (existing === undefined) {
      const created = new wanted();
      parent.entries.set(segment, created);
      parent = created;
    } else if (existing instanceof wanted) {
      parent = existing;
    } else {
      throw conflict(segments, i);
    }
  }
}

function conflict(segments: string[], upTo: number) {
  const param = render(segments.slice(0, upTo + 1));
  return new StripeFormError(
    `Conflicting values for parameter ${quote(param)}: it is given both as text and as a list or hash.`,
    param,
  );
}

/** Hashes whose keys are exactly 0..n-1 become lists, as Stripe reads `items[0][price]`. */
function toValue(node: Node, path: string): FormValue {
  if (typeof node === "string") return node;
  if (node instanceof ListNode) return node.items.map((item, index) => toValue(item, `${path}[${index}]`));
  const keys = [...node.entries.keys()];
  if (keys.length > 0 && keys.every((key) => CANONICAL_INDEX.test(key))) {
    const list: FormValue[] = new Array(keys.length);
    for (const key of keys) {
      const index = Number(key);
      if (index >= keys.length) {
        throw new StripeFormError(`Invalid array ${quote(path)}: indexes must run from 0 without gaps.`, path);
      }
      list[index] = toValue(node.entries.get(key) as Node, `${path}[${key}]`);
    }
    return list;
  }
  return toHash(node, path);
}

function toHash(node: HashNode, path: string): { [key: string]: FormValue } {
  const hash: { [key: string]: FormValue } = Object.create(null);
  for (const [key, child] of node.entries) hash[key] = toValue(child, path === "" ? key : `${path}[${key}]`);
  return hash;
}

/** ["line_items", "0", "price"] → "line_items[0][price]": how Stripe names a parameter. */
export function render(segments: readonly (string | number)[]): string {
  const [head, ...rest] = segments;
  return `${head ?? ""}${rest.map((segment) => `[${segment}]`).join("")}`;
}

const quote = (text: string) => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
