// A server span for each request, continuing a W3C `traceparent` the caller sent, active
// while the request is handled (log lines, webhooks' outbox events and their runs join it).
// Named by the matched route, never the raw path; no query, headers or body are recorded.
import { context, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { MiddlewareHandler } from "hono";
import { routeOf } from "../observability/http-metrics.ts";

// Asked of the global provider each time: a provider registered later (a restart in the same process) is used.
const tracer = () => trace.getTracer("@callflow/api");
/** tRPC requests are named `/trpc/*`: which procedures exist is the metrics' concern. */
const NO_PROCEDURES: ReadonlySet<string> = new Set();

/** Paths not traced: scrapes and probes, the trace view itself, and /api/inngest, whose runs the Inngest middleware traces. */
const UNTRACED = /^\/(?:healthz|readyz|metrics|dev\/traces|api\/inngest)(?:\/|$)/;

export function traceRequests(): MiddlewareHandler {
  return async (c, next) => {
    if (UNTRACED.test(c.req.path)) return next();
    const headers: Record<string, string> = {};
    const traceparent = c.req.header("traceparent");
    if (traceparent) headers.traceparent = traceparent;
    const tracestate = c.req.header("tracestate");
    if (tracestate) headers.tracestate = tracestate;
    const parent = propagation.extract(context.active(), headers);
    const method = c.req.method;
    const span = tracer().startSpan(
      method,
      { kind: SpanKind.SERVER, attributes: { "http.request.method": method } },
      parent,
    );
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      // Untraced processes (and sampled-out requests) get a span that records nothing: no route to work out.
      if (span.isRecording()) {
        const route = routeOf(c, NO_PROCEDURES);
        span.updateName(`${method} ${route}`);
        span.setAttribute("http.route", route);
        span.setAttribute("http.response.status_code", c.res.status);
        const requestId = c.get("requestId");
        if (typeof requestId === "string") span.setAttribute("callflow.request_id", requestId);
        if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    }
  };
}
