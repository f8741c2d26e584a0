// OTLP/HTTP export as configured by the standard variables, against a real HTTP receiver:
// the webhook's server span continues the caller's traceparent, reaches the collector with
// the service's name, and the log line written inside it carries the same ids.
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { Hono } from "hono";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { loadConfig } from "../config.ts";
import { createLog } from "../log.ts";
import { traceRequests } from "./http-spans.ts";
import { startTracing } from "./start-tracing.ts";

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}
const received: Received[] = [];
const collector = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    received.push({ path: request.url ?? "", headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
    response.writeHead(200, { "content-type": "application/json" });
    response.end("{}");
  });
});
let endpoint = "";
beforeAll(async () => {
  await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => collector.close(resolve)));

// Not the local view: a server database means spans go only where OTEL_* says.
const CLOUD = { DATABASE_URL: "postgresql://callflow@127.0.0.1:5432/callflow" };
const CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN = "00f067aa0ba902b7";

type OtlpValue = { stringValue?: string; intValue?: number | string };
type OtlpSpan = { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number };
type OtlpExport = {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: OtlpValue }> };
    scopeSpans: Array<{ spans: OtlpSpan[] }>;
  }>;
};

async function handleOneRequest(environment: Record<string, string>) {
  const config = loadConfig({ ...CLOUD, ...environment });
  const tracing = await startTracing(config.tracing);
  const lines: Array<Record<string, unknown>> = [];
  const log = createLog("info", {}, (line) => {
    lines.push(JSON.parse(line));
    return true;
  });
  const app = new Hono().use(traceRequests()).post("/webhooks/twilio/voice", (c) => {
    log.info("inside the webhook");
    return c.text("<Response/>");
  });
  const response = await app.request("/webhooks/twilio/voice", {
    method: "POST",
    headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
  });
  expect(response.status).toBe(200);
  log.info("after the request");
  await tracing.shutdown(); // exports what the batch holds
  return { config, lines };
}

it("exports the server span over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces, continuing the caller's trace", async () => {
  received.length = 0;
  const { config, lines } = await handleOneRequest({
    OTEL_EXPORTER_OTLP_ENDPOINT: `${endpoint}/`,
    OTEL_SERVICE_NAME: "callflow-export-test",
  });
  expect(config.tracing).toMatchObject({ otlpTracesUrl: `${endpoint}/v1/traces`, localView: null });

  expect(received.map((request) => request.path)).toEqual(["/v1/traces"]);
  const [request] = received as [Received];
  expect(request.headers["content-type"]).toBe("application/json");
  const body = JSON.parse(request.body) as OtlpExport;
  const [resourceSpans] = body.resourceSpans;
  expect(resourceSpans?.resource.attributes).toContainEqual({
    key: "service.name",
    value: { stringValue: "callflow-export-test" },
  });
  const spans = resourceSpans?.scopeSpans.flatMap((scope) => scope.spans) ?? [];
  expect(spans).toHaveLength(1);
  const [span] = spans as [OtlpSpan];
  // OTLP/JSON: ids as hex, kind 2 is SPAN_KIND_SERVER.
  expect(span).toMatchObject({
    traceId: CALLER_TRACE,
    parentSpanId: CALLER_SPAN,
    name: "POST /webhooks/twilio/voice",
    kind: 2,
  });

  expect(lines.find((line) => line.msg === "inside the webhook")).toMatchObject({
    trace_id: CALLER_TRACE,
    span_id: span.spanId,
  });
  // Outside any span a line carries no trace.
  expect(lines.find((line) => line.msg === "after the request")).not.toHaveProperty("trace_id");
});

it("takes OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, and exports nothing the sampler drops", async () => {
  received.length = 0;
  const { config } = await handleOneRequest({
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${endpoint}/custom/traces`,
    OTEL_TRACES_SAMPLER: "always_off",
  });
  expect(config.tracing.otlpTracesUrl).toBe(`${endpoint}/custom/traces`);
  expect(received).toEqual([]);

  await handleOneRequest({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${endpoint}/custom/traces` });
  expect(received.map((request) => request.path)).toEqual(["/custom/traces"]);
});

it("registers nothing without an endpoint or a local view: no spans, no trace ids in log lines", async () => {
  received.length = 0;
  const { config, lines } = await handleOneRequest({});
  expect(config.tracing).toMatchObject({ otlpTracesUrl: null, localView: null });
  expect((await startTracing(config.tracing)).enabled).toBe(false);
  expect(lines.find((line) => line.msg === "inside the webhook")).not.toHaveProperty("trace_id");
  expect(received).toEqual([]);
});

it("refuses OTEL_* values the specification does not allow, naming the variable", () => {
  // The environment's validation prints each issue with its variable, then throws.
  const printed = vi.spyOn(console, "error").mockImplementation(() => {});
  const refusal = (environment: Record<string, string>) => {
    printed.mockClear();
    expect(() => loadConfig(environment)).toThrow(/Invalid environment/);
    return JSON.stringify(printed.mock.calls);
  };
  expect(refusal({ OTEL_TRACES_SAMPLER: "sometimes" })).toContain('"OTEL_TRACES_SAMPLER"');
  expect(refusal({ OTEL_TRACES_SAMPLER_ARG: "2" })).toContain('"OTEL_TRACES_SAMPLER_ARG"');
  expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" })).toContain('"OTEL_EXPORTER_OTLP_ENDPOINT"');
  printed.mockRestore();
  expect(loadConfig({ OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }).tracing).toMatchObject({
    otlpTracesUrl: null,
    localView: null,
  });
});
