// For tests: Inngest expressions (a wait's `if`, an idempotency or throttle key) evaluated
// as Inngest evaluates them, with CEL (Common Expression Language; @bufbuild/cel is
// conformance-tested against cel-spec). In a wait, `event` is the event that started the
// run and `async` the one the wait is offered.
import { isCelError, run } from "@bufbuild/cel";

export interface ExpressionScope {
  event: unknown;
  async?: unknown;
}

/** The expression's value; an expression CEL cannot evaluate is an error, not a null. */
export function evaluateExpression(expression: string, scope: ExpressionScope): unknown {
  const bindings: Record<string, never> = { event: asCel(scope.event) };
  if (scope.async !== undefined) bindings.async = asCel(scope.async);
  const result = run(expression, bindings);
  if (isCelError(result)) throw new Error(`CEL could not evaluate ${expression}: ${result.message}`);
  return result;
}

/** Whether a wait's `if` expression accepts the offered event. */
export function waitFilterMatches(expression: string, scope: Required<ExpressionScope>): boolean {
  const result = evaluateExpression(expression, scope);
  if (typeof result !== "boolean") throw new Error(`${expression} is not a condition: it gave ${String(result)}`);
  return result;
}

// JSON as CEL sees event payloads: objects are maps, numbers are doubles.
function asCel(value: unknown): never {
  if (value === null || typeof value !== "object") return value as never;
  if (Array.isArray(value)) return value.map(asCel) as never;
  return new Map(Object.entries(value).map(([key, item]) => [key, asCel(item)])) as never;
}
