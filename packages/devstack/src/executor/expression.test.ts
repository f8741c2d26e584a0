import { describe, expect, it } from "vitest";
import { parseDuration, resolveWakeTime } from "./duration.ts";
import {
  asyncEqualityKey,
  canonicalJson,
  ExpressionError,
  MAX_EXPRESSION_LENGTH,
  matches,
  parseExpression,
  scalarLeaves,
} from "./expression.ts";

const event = {
  name: "message/job.created",
  data: { jobId: "j-1", sid: "SM1", n: 3, flag: true, nested: { a: null } },
};

describe("the executor's expressions", () => {
  it("evaluates what the SDK generates for `match`", () => {
    expect(matches("event.data.sid == async.data.sid", { event, async: { data: { sid: "SM1" } } })).toBe(true);
    expect(matches("event.data.sid == async.data.sid", { event, async: { data: { sid: "SM2" } } })).toBe(false);
  });

  it("evaluates the `if` conditions CallFlow's functions write", () => {
    const condition =
      "async.data.messageId == 'm-1' && (async.data.status == 'delivered' || async.data.status == 'read' || async.data.status == 'failed')";
    expect(matches(condition, { event, async: { data: { messageId: "m-1", status: "read" } } })).toBe(true);
    expect(matches(condition, { event, async: { data: { messageId: "m-1", status: "sent" } } })).toBe(false);
    expect(matches(condition, { event, async: { data: { messageId: "m-2", status: "read" } } })).toBe(false);
  });

  it("has literals, negation, != and null for missing fields", () => {
    const scope = { event, async: {} };
    expect(matches('event.data.n == 3 && event.data.flag == true && event.name != "other"', scope)).toBe(true);
    expect(matches("!(event.data.n == 3)", scope)).toBe(false);
    expect(matches("event.data.missing == null && event.data.nested.a == null", scope)).toBe(true);
    expect(matches("event.data.missing.deeper == null", scope)).toBe(true);
    expect(matches("event.data.n == 3.0 && event.data.n != -3", scope)).toBe(true);
    expect(matches("event.data.nested == event.data.nested", scope)).toBe(true);
    expect(matches(`'it\\'s' == "it's"`, scope)).toBe(true);
  });

  it("refuses, loudly, what it does not implement", () => {
    for (const source of [
      "event.data.n > 3",
      "event.data.a + event.data.b",
      "size(event.data.list) == 1",
      "event.data['x'] == 1",
      "other.data == 1",
      "event.data.n ==",
      "(event.data.n == 1",
      "event.data.n in [1, 2]",
    ]) {
      expect(() => parseExpression(source), source).toThrow(ExpressionError);
    }
    expect(() => parseExpression("async.data.x == 1", ["event"])).toThrow(/unknown name "async"/);
  });

  it("refuses deep nesting and overlong input with an ExpressionError, not a stack overflow", () => {
    expect(() => parseExpression(`${"(".repeat(2000)}event.data.n${")".repeat(2000)}`)).toThrow(/nested deeper/);
    expect(() => parseExpression(`${"!".repeat(2000)}true`)).toThrow(/nested deeper/);
    expect(() => parseExpression(`'${"a".repeat(MAX_EXPRESSION_LENGTH)}' == 'a'`)).toThrow(/longer than/);
    const long = Array.from({ length: 100 }, (_, i) => `event.data.f${i} == ${i}`).join(" && ");
    expect(parseExpression(long).kind).toBe("logic");
  });

  it("reads time strings and dates", () => {
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("2h45m")).toBe(9_900_000);
    expect(parseDuration("1w1d")).toBe(8 * 86_400_000);
    expect(parseDuration("1.5s")).toBe(1500);
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("1d2h3m4s")).toBe(86_400_000 + 7_200_000 + 180_000 + 4000);
    for (const bad of ["soon", "", "10", "5x", "1s ms", "1s-2s", `${"9".repeat(70)}s`]) {
      expect(() => parseDuration(bad), bad).toThrow(ExpressionError);
    }
    expect(resolveWakeTime("10s", 1000)).toBe(11_000);
    expect(resolveWakeTime("2030-01-01T00:00:00.000Z", 0)).toBe(Date.parse("2030-01-01T00:00:00.000Z"));
  });

  it("writes canonical JSON: keys sorted at every level", () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: "x" }, u: undefined })).toBe(
      '{"a":{"c":"x","d":[{"y":2,"z":1}]},"b":1}',
    );
  });
});

describe("wait indexing", () => {
  it("finds the equality an event must satisfy, and the keys an event offers", () => {
    const run = { event };
    expect(asyncEqualityKey(parseExpression("event.data.sid == async.data.sid"), run)).toBe('data.sid="SM1"');
    expect(asyncEqualityKey(parseExpression("async.data.status == 'read' && async.data.messageId == 'm-1'"), run)).toBe(
      'data.status="read"',
    );
    expect(asyncEqualityKey(parseExpression("async.data.a == 1 || async.data.b == 2"), run)).toBeNull();
    expect(asyncEqualityKey(parseExpression("async.data.a == null"), run)).toBeNull();
    expect(asyncEqualityKey(parseExpression("async.data.a != 'x'"), run)).toBeNull();
    expect(scalarLeaves({ name: "x", data: { sid: "SM1", n: 2, list: [1], deep: { ok: true, none: null } } })).toEqual([
      'name="x"',
      'data.sid="SM1"',
      "data.n=2",
      "data.deep.ok=true",
    ]);
  });
});
