// The trace context an event carries from its writer to its run (@callflow/inngest
// trace-context.ts), with the process's real tracer provider registered.

import { eventWithTraceContext, TRACE_CONTEXT_KEY, traceContextOfEvent } from "@callflow/inngest";
import { context, trace } from "@opentelemetry/api";
import { afterAll, expect, it } from "vitest";
import { startTracing } from "./start-tracing.ts";

const tracing = await startTracing({
  serviceName: "callflow-test",
  otlpTracesUrl: null,
  sampler: { name: "parentbased_always_on", ratio: 1 },
  localView: { capacity: 100 },
});
afterAll(() => tracing.shutdown());
const tracer = trace.getTracer("test");
const event = { name: "call/completed", id: "CA1", data: { callSid: "CA1", organizationId: "org_1" } };

it("adds the active span's traceparent to the event's data, and tells the span which call it wrote", () => {
  const span = tracer.startSpan("webhook");
  const written = context.with(trace.setSpan(context.active(), span), () => eventWithTraceContext(event));
  span.end();
  const { traceId, spanId } = span.spanContext();
  expect(written).toEqual({
    ...event,
    data: { ...event.data, [TRACE_CONTEXT_KEY]: { traceparent: `00-${traceId}-${spanId}-01` } },
  });
  expect(event.data).not.toHaveProperty(TRACE_CONTEXT_KEY); // the caller's event is not changed
  const [recorded] = tracing.recent?.tracesOfCall("CA1") ?? [];
  expect(recorded?.spans.map((s) => s.name)).toEqual(["webhook"]);

  // The run reads it back as its parent.
  const parent = trace.getSpanContext(traceContextOfEvent(written));
  expect(parent).toMatchObject({ traceId, spanId, isRemote: true });
});

it("leaves an event alone outside any span, and one that already carries a context", () => {
  expect(eventWithTraceContext(event)).toBe(event);
  const carried = { ...event, data: { ...event.data, traceContext: { traceparent: "00-x" } } };
  const span = tracer.startSpan("later");
  expect(context.with(trace.setSpan(context.active(), span), () => eventWithTraceContext(carried))).toBe(carried);
  span.end();
});

it.each([
  [{ data: {} }],
  [{ data: { traceContext: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" } }],
  [{ data: { traceContext: { traceparent: "not a traceparent" } } }],
  [{ data: { traceContext: { traceparent: 7 } } }],
  [undefined],
])("gives a run no parent when its event carries no valid context: %j", (carrier) => {
  expect(trace.getSpanContext(traceContextOfEvent(carrier))).toBeUndefined();
});
