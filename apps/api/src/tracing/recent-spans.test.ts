// The local view: a bounded ring of ended spans, a call's traces found by its CallSid, and
// the tree `npm run -s trace` prints.
import { context, trace } from "@opentelemetry/api";
import { TracerProvider } from "@opentelemetry/sdk-trace";
import { expect, it } from "vitest";
import { recentSpans } from "./recent-spans.ts";
import { renderTrace } from "./trace-tree.ts";

const CALL = `CA${"1".repeat(32)}`;

function withView(capacity: number) {
  const recent = recentSpans(capacity);
  const tracer = new TracerProvider({ spanProcessors: [recent] }).getTracer("test");
  /** A span and its children, in that order, each child started after its parent. */
  const spanTree = (name: string, attributes: Record<string, string>, children: string[] = []) => {
    const root = tracer.startSpan(name, { attributes });
    const inRoot = trace.setSpan(context.active(), root);
    for (const child of children) tracer.startSpan(child, {}, inRoot).end();
    root.end();
    return root.spanContext().traceId;
  };
  return { recent, spanTree };
}

it("finds every span of the traces that mention the call, and only those", () => {
  const { recent, spanTree } = withView(100);
  const callTrace = spanTree("POST /webhooks/twilio/voice", { "callflow.call_sid": CALL }, ["run call-completed"]);
  spanTree("POST /webhooks/twilio/voice", { "callflow.call_sid": `CA${"2".repeat(32)}` }, ["run call-completed"]);
  const traces = recent.tracesOfCall(CALL);
  expect(traces.map((t) => t.traceId)).toEqual([callTrace]);
  expect(traces[0]?.spans.map((span) => span.name)).toEqual(["POST /webhooks/twilio/voice", "run call-completed"]);
  expect(recent.latestCall()).toBe(`CA${"2".repeat(32)}`);
  expect(recent.tracesOfCall(`CA${"3".repeat(32)}`)).toEqual([]);
});

it("keeps only the latest spans, up to its capacity", () => {
  const { recent, spanTree } = withView(3);
  spanTree("old", { "callflow.call_sid": CALL }, ["old child"]);
  expect(recent.tracesOfCall(CALL)[0]?.spans).toHaveLength(2);
  spanTree("newer", {}, ["a", "b"]);
  expect(recent.size()).toBe(3);
  expect(recent.tracesOfCall(CALL)).toEqual([]);
  expect(recent.latestCall()).toBeNull();
});

it("prints a trace as a tree, each child under its parent, a span whose parent is missing as a root", () => {
  const { recent, spanTree } = withView(100);
  const traceId = spanTree("POST /webhooks/twilio/voice", { "callflow.call_sid": CALL }, ["run call-completed"]);
  const [found] = recent.tracesOfCall(CALL);
  const spans = found?.spans ?? [];
  const orphan = { ...(spans[1] as (typeof spans)[number]), spanId: "f".repeat(16), parentSpanId: "e".repeat(16) };
  const lines = renderTrace(traceId, [...spans, { ...orphan, name: "step finish", startMs: orphan.startMs + 5 }]).split(
    "\n",
  );
  expect(lines[0]).toBe(`trace ${traceId} (3 spans)`);
  expect(lines.slice(1).map((line) => line.replace(/^\s*\+\d+ms /, "").replace(/ [\d.]+ms.*$/, ""))).toEqual([
    "POST /webhooks/twilio/voice",
    "  run call-completed",
    "step finish",
  ]);
});
