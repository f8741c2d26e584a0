// The local view of traces: the spans this process ended lately, kept in memory (a ring of
// a fixed size, oldest dropped first), found by the call they are about. Local mode runs the
// webhooks, the executor and the functions in one process, so a call's whole trace is here.
import type { Context } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace";

export interface RecordedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: number;
  /** Epoch milliseconds. */
  startMs: number;
  durationMs: number;
  status: "unset" | "ok" | "error";
  statusMessage?: string;
  attributes: Record<string, unknown>;
}

export interface RecentSpans extends SpanProcessor {
  /** The traces with a span about this call (`callflow.call_sid`), each span of each, oldest trace first. */
  tracesOfCall(callSid: string): Array<{ traceId: string; spans: RecordedSpan[] }>;
  /** The call of the latest span about one; null when none is kept. */
  latestCall(): string | null;
  size(): number;
}

const millis = ([seconds, nanos]: [number, number]) => seconds * 1000 + nanos / 1e6;
const STATUS = ["unset", "ok", "error"] as const;

function recorded(span: ReadableSpan): RecordedSpan {
  const context = span.spanContext();
  const status = STATUS[span.status.code] ?? "unset";
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? null,
    name: span.name,
    kind: span.kind,
    startMs: millis(span.startTime),
    durationMs: Math.round(millis(span.duration) * 1000) / 1000,
    status,
    ...(span.status.message ? { statusMessage: span.status.message } : {}),
    attributes: { ...span.attributes },
  };
}

/** Oldest start first; a parent before its child when both started in the same instant. */
const byStart = (a: RecordedSpan, b: RecordedSpan) =>
  a.startMs - b.startMs || (b.parentSpanId === a.spanId ? -1 : a.parentSpanId === b.spanId ? 1 : 0);

export function recentSpans(capacity = 20_000): RecentSpans {
  const ring: (RecordedSpan | undefined)[] = new Array(capacity);
  let next = 0;
  let count = 0;
  const all = () => {
    const spans: RecordedSpan[] = [];
    for (let i = 0; i < count; i++) {
      const span = ring[(next - count + i + capacity) % capacity];
      if (span) spans.push(span);
    }
    return spans;
  };
  return {
    onStart(_span: Span, _parent: Context) {},
    onEnd(span: ReadableSpan) {
      ring[next] = recorded(span);
      next = (next + 1) % capacity;
      count = Math.min(count + 1, capacity);
    },
    forceFlush: async () => {},
    shutdown: async () => {},
    size: () => count,
    latestCall() {
      for (let i = 1; i <= count; i++) {
        const callSid = ring[(next - i + capacity) % capacity]?.attributes["callflow.call_sid"];
        if (typeof callSid === "string") return callSid;
      }
      return null;
    },
    tracesOfCall(callSid) {
      const spans = all();
      const traceIds = new Set(
        spans.filter((span) => span.attributes["callflow.call_sid"] === callSid).map((span) => span.traceId),
      );
      const traces = new Map<string, RecordedSpan[]>();
      for (const span of spans) {
        if (!traceIds.has(span.traceId)) continue;
        const members = traces.get(span.traceId);
        if (members) members.push(span);
        else traces.set(span.traceId, [span]);
      }
      return [...traces].map(([traceId, members]) => ({
        traceId,
        spans: members.sort(byStart),
      }));
    },
  };
}
