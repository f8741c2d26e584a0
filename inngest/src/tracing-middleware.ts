// Spans for function runs, continuing the trace carried in the triggering event
// (trace-context.ts): one span per request Inngest makes to run a function, a child span
// per step that runs in it, and the trace context added to every event a run sends.
// Inngest's own extendedTracesMiddleware (inngest/experimental) parents spans on the
// traceparent Inngest sends and exports them to Inngest; ours must continue the webhook's trace
// and go wherever the process's tracer provider sends spans (OTLP, the local view).
import { type Context, context, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { Middleware } from "inngest";
import { eventWithTraceContext, traceContextOfEvent } from "./trace-context.ts";

// Asked of the global provider each time: a provider registered later (a restart in the same process) is used.
const tracer = () => trace.getTracer("@callflow/inngest");

/** Ids that say which call or job a run is about (never phone numbers or bodies). */
function idsOf(data: unknown): Record<string, string> {
  const fields = (data ?? {}) as Record<string, unknown>;
  const ids: Record<string, string> = {};
  if (typeof fields.callSid === "string") ids["callflow.call_sid"] = fields.callSid;
  if (typeof fields.jobId === "string") ids["callflow.job_id"] = fields.jobId;
  if (typeof fields.organizationId === "string") ids["callflow.organization_id"] = fields.organizationId;
  return ids;
}

/** A fresh instance serves each request, so the run's span is this request's. */
export class TracingMiddleware extends Middleware.BaseMiddleware {
  readonly id = "callflow:tracing";
  #run: { span: Span; context: Context } | null = null;
  /** Steps running in this request, by hashed id, until they settle. */
  readonly #steps = new Map<string, Span>();

  override async wrapRequest({ next }: Middleware.WrapRequestArgs): Promise<Middleware.Response> {
    try {
      const response = await next();
      if (response.status >= 500) this.#run?.span.setStatus({ code: SpanStatusCode.ERROR });
      return response;
    } catch (error) {
      this.#run?.span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message?.slice(0, 200) });
      throw error;
    } finally {
      // The handler's promise never settles when a new step is found: the request's end ends the span.
      for (const hashedId of [...this.#steps.keys()]) this.#endStep(hashedId);
      this.#run?.span.end();
    }
  }

  override wrapFunctionHandler({ ctx, fn, next }: Middleware.WrapFunctionHandlerArgs): Promise<unknown> {
    const parent = traceContextOfEvent(ctx.event);
    const span = tracer().startSpan(
      `run ${fn.opts.id}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          "inngest.function.id": fn.opts.id,
          "inngest.run.id": ctx.runId,
          "inngest.attempt": ctx.attempt,
          "inngest.event.name": ctx.event.name,
          ...(ctx.event.id ? { "inngest.event.id": ctx.event.id } : {}),
          ...idsOf(ctx.event.data),
        },
      },
      parent,
    );
    this.#run = { span, context: trace.setSpan(parent, span) };
    return context.with(this.#run.context, next);
  }

  /**
   * The step's span is active while its handler runs (a provider's span is its child). The
   * handler's own promise is returned untouched and the span ended by onStepComplete /
   * onStepError: the SDK times what a request reports by counting microtasks after a step
   * settles, which is its business, not the tracer's.
   */
  override wrapStepHandler({ next, stepInfo }: Middleware.WrapStepHandlerArgs): Promise<unknown> {
    const parent = this.#run?.context ?? context.active();
    const span = tracer().startSpan(
      `step ${stepInfo.options.id}`,
      { attributes: { "inngest.step.id": stepInfo.options.id, "inngest.step.op": stepInfo.stepType } },
      parent,
    );
    this.#steps.get(stepInfo.hashedId)?.end();
    this.#steps.set(stepInfo.hashedId, span);
    return context.with(trace.setSpan(parent, span), next);
  }

  override onStepComplete({ stepInfo }: Middleware.OnStepCompleteArgs): void {
    this.#endStep(stepInfo.hashedId);
  }

  override onStepError({ stepInfo, error }: Middleware.OnStepErrorArgs): void {
    this.#endStep(stepInfo.hashedId, error);
  }

  #endStep(hashedId: string, error?: Error) {
    const span = this.#steps.get(hashedId);
    if (!span) return;
    this.#steps.delete(hashedId);
    if (error) {
      span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(error.message ?? error).slice(0, 200) });
    }
    span.end();
  }

  /** Events a run sends (step.sendEvent); the outbox relay's sends (no fn) carry their writer's context already. */
  override transformSendEvent(arg: Middleware.TransformSendEventArgs): Middleware.TransformSendEventArgs {
    if (!arg.fn) return arg;
    return { ...arg, events: arg.events.map((event) => eventWithTraceContext(event)) };
  }
}
