// The process's OpenTelemetry: a tracer provider registered globally with W3C trace-context
// propagation and an AsyncLocalStorage context manager, exporting over OTLP/HTTP when an
// endpoint is configured and keeping recent spans in memory for the local view. With neither,
// nothing is registered: the API's no-op tracer costs (almost) nothing, and the SDK and its
// exporter are not even loaded (they are imported only when a provider is made).
import { context, propagation, trace } from "@opentelemetry/api";
import type { Sampler, SpanProcessor } from "@opentelemetry/sdk-trace";
import { type RecentSpans, recentSpans } from "./recent-spans.ts";

/** OTEL_TRACES_SAMPLER's values, as the OpenTelemetry specification names them. */
export type SamplerName =
  | "always_on"
  | "always_off"
  | "traceidratio"
  | "parentbased_always_on"
  | "parentbased_always_off"
  | "parentbased_traceidratio";

export interface TracingSettings {
  serviceName: string;
  /** OTLP/HTTP traces endpoint (the full URL, …/v1/traces); null: no export. */
  otlpTracesUrl: string | null;
  sampler: { name: SamplerName; ratio: number };
  /** Spans kept in memory for `npm run -s trace` (local mode); null: none kept. */
  localView: { capacity: number } | null;
}

export interface Tracing {
  /** The local view's spans; null when it is off. */
  recent: RecentSpans | null;
  /** Whether spans are recorded at all (a provider is registered). */
  enabled: boolean;
  /** Exports what is left and unregisters the provider. */
  shutdown(): Promise<void>;
}

async function samplerOf({ name, ratio }: TracingSettings["sampler"]): Promise<Sampler> {
  const { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler } = await import(
    "@opentelemetry/sdk-trace"
  );
  const root = name.endsWith("always_off")
    ? new AlwaysOffSampler()
    : name.endsWith("traceidratio")
      ? new TraceIdRatioBasedSampler(ratio)
      : new AlwaysOnSampler();
  return name.startsWith("parentbased_") ? new ParentBasedSampler({ root }) : root;
}

export async function startTracing(settings: TracingSettings): Promise<Tracing> {
  const recent = settings.localView ? recentSpans(settings.localView.capacity) : null;
  if (!settings.otlpTracesUrl && !recent) return { recent: null, enabled: false, shutdown: async () => {} };

  const [{ BatchSpanProcessor, TracerProvider }, resources, { ATTR_SERVICE_NAME }] = await Promise.all([
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/semantic-conventions"),
  ]);
  const processors: SpanProcessor[] = [];
  if (settings.otlpTracesUrl) {
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
    // Headers, timeout and compression come from OTEL_EXPORTER_OTLP_* as the exporter reads them.
    processors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: settings.otlpTracesUrl }) }));
  }
  if (recent) processors.push(recent);

  const resource = resources.resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }).merge(
    // OTEL_RESOURCE_ATTRIBUTES, read by the SDK's own detector; OTEL_SERVICE_NAME is settings.serviceName.
    resources.detectResources({ detectors: [resources.envDetector] }),
  );
  const [{ AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }] = await Promise.all([
    import("@opentelemetry/context-async-hooks"),
    import("@opentelemetry/core"),
  ]);
  const provider = new TracerProvider({
    resource,
    sampler: await samplerOf(settings.sampler),
    spanProcessors: processors,
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return {
    recent,
    enabled: true,
    async shutdown() {
      await provider.shutdown();
      // A later start in this process (tests) registers its own.
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
