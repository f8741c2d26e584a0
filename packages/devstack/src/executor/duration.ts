// Inngest Time Strings ("30s", "2h45m", "1w"; docs/SDK_SPEC.md 1.3.2) and sleep targets.
// Each `<number><unit>` part goes through `ms`, the parser the SDK itself uses to make them.
import ms from "ms";
import { ExpressionError } from "./expression.ts";

// Sticky: matched at lastIndex only, so a string is read once, left to right.
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;
const MAX_LENGTH = 64;

/** A Time String in milliseconds; throws ExpressionError on anything else. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  const refuse = () =>
    new ExpressionError(
      `not a duration: "${text.slice(0, MAX_LENGTH)}" (expected a time string like "30s" or "2h45m")`,
    );
  if (trimmed.length === 0 || trimmed.length > MAX_LENGTH) throw refuse();
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < trimmed.length) {
    const match = PART.exec(trimmed);
    if (!match) throw refuse();
    total += ms(match[0] as ms.StringValue);
  }
  return Math.round(total);
}

/** A Sleep's or wait's target: a Time String from `now`, or an ISO 8601 date (step.sleepUntil). */
export function resolveWakeTime(text: string, now: number): number {
  if (text.length > MAX_LENGTH) throw new ExpressionError(`not a duration or date: "${text.slice(0, MAX_LENGTH)}…"`);
  if (/^\d{4}-\d{2}-\d{2}/.test(text.trim())) {
    const at = Date.parse(text);
    if (Number.isNaN(at)) throw new ExpressionError(`not a date: "${text.slice(0, MAX_LENGTH)}"`);
    return at;
  }
  return now + parseDuration(text);
}
