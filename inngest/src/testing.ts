// For tests: an Inngest `if` expression evaluated as Inngest evaluates it, with CEL
// (Common Expression Language; @bufbuild/cel is conformance-tested against cel-spec).
// `event` is the event that started the run, `async` the one a wait is offered.
import { isCelError, run } from "@bufbuild/cel";

export interface WaitScope {
  event: unknown;
  async: unknown;
}

/** Whether the expression holds; an expression CEL cannot evaluate is an error, not a "no". */
export function waitFilterMatches(expression: string, scope: WaitScope): boolean {
  const result = run(expression, { event: asCel(scope.event), async: asCel(scope.async) });
  if (isCelError(result)) throw new Error(`CEL could not evaluate ${expression}: ${result.message}`);
  if (typeof result !== "boolean") throw new Error(`${expression} is not a condition: it gave ${String(result)}`);
  return result;
}

// JSON as CEL sees event payloads: objects are maps, numbers are doubles.
function asCel(value: unknown): never {
  if (value === null || typeof value !== "object") return value as never;
  if (Array.isArray(value)) return value.map(asCel) as never;
  return new Map(Object.entries(value).map(([key, item]) => [key, asCel(item)])) as never;
}
