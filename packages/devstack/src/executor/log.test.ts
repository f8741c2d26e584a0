import { expect, it } from "vitest";
import { type ExecutorLogLine, traceIdOfEvent, traceOf, withRunTraceIds } from "./log.ts";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const eventWith = (traceparent: unknown) => ({ name: "call/completed", data: { traceContext: { traceparent } } });

it.each([
  [`00-${TRACE}-00f067aa0ba902b7-01`, TRACE],
  [`00-${TRACE}-00f067aa0ba902b7-00`, TRACE],
  [`00-${"0".repeat(32)}-00f067aa0ba902b7-01`, null], // the invalid all-zero trace id
  [`01-${TRACE}-00f067aa0ba902b7-01`, null], // a version this reader does not know
  [`00-${TRACE.toUpperCase()}-00f067aa0ba902b7-01`, null], // W3C: lowercase hex only
  [`00-${TRACE}-00f067aa0ba902b7-01-extra`, null],
  [42, null],
])("reads the trace id of an event's traceparent %s", (traceparent, expected) => {
  expect(traceIdOfEvent(eventWith(traceparent))).toBe(expected);
});

it("reads nothing from events without a trace context", () => {
  expect(traceIdOfEvent({ name: "x", data: {} })).toBeNull();
  expect(traceIdOfEvent(null)).toBeNull();
  expect(traceOf({ name: "x" })).toEqual({});
  expect(traceOf(eventWith(`00-${TRACE}-00f067aa0ba902b7-01`))).toEqual({ trace_id: TRACE });
});

it("labels a run's later lines with the trace id its first line named, and leaves other lines alone", () => {
  const written: ExecutorLogLine[] = [];
  const log = withRunTraceIds((line) => written.push(line), 2);
  log({ level: "info", msg: "checkpoint", runId: "run-0" }); // before any line named its trace
  log({ level: "debug", msg: "run created", runId: "run-1", trace_id: TRACE });
  log({ level: "debug", msg: "checkpoint", runId: "run-1" });
  log({ level: "info", msg: "listening" });
  log({ level: "debug", msg: "run created", runId: "run-2", trace_id: "a".repeat(32) });
  log({ level: "debug", msg: "run created", runId: "run-3", trace_id: "b".repeat(32) });
  log({ level: "info", msg: "run completed", runId: "run-1" }); // forgotten: only the latest 2 runs are kept
  log({ level: "info", msg: "run completed", runId: "run-3" });
  expect(written.map((line) => [line.msg, line.runId, line.trace_id])).toEqual([
    ["checkpoint", "run-0", undefined],
    ["run created", "run-1", TRACE],
    ["checkpoint", "run-1", TRACE],
    ["listening", undefined, undefined],
    ["run created", "run-2", "a".repeat(32)],
    ["run created", "run-3", "b".repeat(32)],
    ["run completed", "run-1", undefined],
    ["run completed", "run-3", "b".repeat(32)],
  ]);
});
