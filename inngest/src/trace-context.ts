// W3C trace context carried inside an event, so that the function run an event starts
// continues the trace of the request that wrote it (a webhook, or a step that sent it).
// It lives in the event's data under `traceContext` ({ traceparent, tracestate? }): the
// outbox has no other column for it, and Inngest passes data through untouched.
import { type Context, context, propagation, ROOT_CONTEXT, trace } from "@opentelemetry/api";

/** The key of event data that holds the trace context. */
export const TRACE_CONTEXT_KEY = "traceContext";

export interface TraceContextCarrier {
  traceparent: string;
  tracestate?: string;
}

interface EventLike {
  name: string;
  id?: string;
  data?: Record<string, unknown>;
}

/**
 * The event with the active span's context added to its data, and that span told which event
 * it wrote (ids only). Unchanged when no span is active, when tracing is off (no propagator
 * writes a traceparent), or when the event already carries a context.
 * Callers that write outbox rows by other means (a SQL statement) pass events through this.
 */
export function eventWithTraceContext<E extends EventLike>(event: E, active: Context = context.active()): E {
  const data = event.data ?? {};
  if (TRACE_CONTEXT_KEY in data) return event;
  const span = trace.getSpan(active);
  if (!span?.isRecording()) return event;
  const carrier: Record<string, string> = {};
  propagation.inject(active, carrier);
  if (!carrier.traceparent) return event;
  span.addEvent("event written", {
    "inngest.event.name": event.name,
    ...(event.id ? { "inngest.event.id": event.id } : {}),
  });
  if (typeof data.callSid === "string") span.setAttribute("callflow.call_sid", data.callSid);
  const traceContext: TraceContextCarrier = {
    traceparent: carrier.traceparent,
    ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}),
  };
  return { ...event, data: { ...data, [TRACE_CONTEXT_KEY]: traceContext } };
}

/** The trace context an event carries (ROOT_CONTEXT when none, or when it is not a W3C traceparent). */
export function traceContextOfEvent(event: { data?: unknown } | undefined): Context {
  const carried = (event?.data as Record<string, unknown> | undefined)?.[TRACE_CONTEXT_KEY];
  if (!carried || typeof carried !== "object") return ROOT_CONTEXT;
  const { traceparent, tracestate } = carried as Record<string, unknown>;
  if (typeof traceparent !== "string") return ROOT_CONTEXT;
  const carrier: Record<string, string> = { traceparent };
  if (typeof tracestate === "string") carrier.tracestate = tracestate;
  return propagation.extract(ROOT_CONTEXT, carrier);
}
