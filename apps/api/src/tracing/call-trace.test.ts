// One trace from the webhook to the provider call, in local mode: a missed call's signed
// status callback, the call-completed run and its steps, the deliver-message run that its
// event started, and the Twilio request of the send step, all under the webhook's trace id,
// with the log lines of that path (request, executor, function) carrying it.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SpanKind } from "@opentelemetry/api";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../config.ts";
import { createLog } from "../log.ts";
import { type RunningCallflow, startCallflow } from "../start-callflow.ts";
import { DEMO_ORG, deliveryOf, missedCallParams, postVoiceCallback, randomCaller } from "../test-missed-call.ts";
import type { RecordedSpan } from "./recent-spans.ts";

const lines: Array<Record<string, unknown>> = [];
let callflow: RunningCallflow;

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "callflow-traces-"));
  const config = loadConfig({ DATA_DIR: dataDir, PORT: "0", WEB_PORT: "", DB_PORT: "", LOG_LEVEL: "debug" });
  const log = createLog("debug", { service: "api" }, (line) => {
    lines.push(JSON.parse(line));
    return true;
  });
  callflow = await startCallflow({ ...config, webPort: null }, { log });
  await callflow.ready;
  await callflow.database.withService((tx) =>
    tx
      .updateTable("organizations")
      .set({ quiet_hours: null, cooldown_seconds: 0 })
      .where("id", "=", DEMO_ORG)
      .execute(),
  );
});
afterAll(() => callflow?.stop());

async function tracesOf(callSid: string) {
  const response = await fetch(`${callflow.apiUrl}/dev/traces?call=${callSid}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { traces: Array<{ traceId: string; spans: RecordedSpan[] }> }).traces;
}

/** Spans whose parent is not (yet) in the view: a run's span ends with the request that ran it, after its steps. */
const orphans = (spans: RecordedSpan[]) =>
  spans.filter((span) => span.parentSpanId && !spans.some((parent) => parent.spanId === span.parentSpanId));

/** The call's traces once the send's Twilio span is there and every span's parent has ended too. */
async function settledTraces(callSid: string) {
  for (let i = 0; i < 100; i++) {
    const traces = await tracesOf(callSid);
    const spans = traces.flatMap((t) => t.spans);
    if (spans.some((span) => span.name.startsWith("Twilio POST")) && orphans(spans).length === 0) return traces;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return tracesOf(callSid);
}

it("links the webhook, the runs' steps and the Twilio request by one trace id, in spans and log lines", async () => {
  const caller = randomCaller();
  const params = missedCallParams(caller);
  expect((await postVoiceCallback(callflow, params)).status).toBe(200);
  expect((await deliveryOf(callflow, params.CallSid)).job?.status).toBe("delivered");

  const traces = await settledTraces(params.CallSid);
  expect(traces).toHaveLength(1);
  const [{ traceId, spans }] = traces as [{ traceId: string; spans: RecordedSpan[] }];
  const named = (name: string) => {
    const span = spans.find((candidate) => candidate.name === name);
    if (!span) throw new Error(`no span ${name} in ${spans.map((s) => s.name).join(", ")}`);
    return span;
  };
  const webhook = named("POST /webhooks/twilio/voice");
  expect(webhook).toMatchObject({ kind: SpanKind.SERVER, parentSpanId: null });
  expect(webhook.attributes).toMatchObject({ "http.response.status_code": 200, "callflow.call_sid": params.CallSid });

  const decideRun = named("run call-completed");
  expect(decideRun.parentSpanId).toBe(webhook.spanId);
  expect(decideRun.attributes).toMatchObject({
    "inngest.event.id": params.CallSid,
    "callflow.call_sid": params.CallSid,
  });
  expect(named("step decide").parentSpanId).toBeOneOf(
    spans.filter((span) => span.name === "run call-completed").map((span) => span.spanId),
  );

  // The delivery's run continues the trace from the step that sent its event.
  const deliveryRuns = spans.filter((span) => span.name === "run deliver-message");
  expect(deliveryRuns.length).toBeGreaterThan(0);
  const send = named("step send-whatsapp");
  expect(deliveryRuns.map((run) => run.spanId)).toContain(send.parentSpanId);
  const twilioRequest = spans.find((span) => span.name.startsWith("Twilio POST"));
  expect(twilioRequest).toMatchObject({ kind: SpanKind.CLIENT, parentSpanId: send.spanId });
  expect(twilioRequest?.name).toBe("Twilio POST /2010-04-01/Accounts/{Sid}/Messages.json");
  expect(twilioRequest?.attributes["http.response.status_code"]).toBe(201);
  expect(String(twilioRequest?.attributes["twilio.sid"])).toMatch(/^SM/);
  for (const span of spans) expect(span.traceId).toBe(traceId);
  // One tree: the webhook is its only root, every other span hangs under it.
  expect(orphans(spans)).toEqual([]);
  expect(spans.filter((span) => span.parentSpanId === null)).toEqual([webhook]);

  // Ids only: neither the caller's number nor the message's text is in any span.
  const recorded = JSON.stringify(spans);
  expect(recorded).not.toContain(caller);
  expect(recorded).not.toContain(caller.slice(1));

  // The webhook's request line, the executor's lines about these runs, the functions' lines.
  const requestLine = lines.find((line) => line.msg === "request" && line.path === "/webhooks/twilio/voice");
  expect(requestLine).toMatchObject({ trace_id: traceId, span_id: webhook.spanId });
  const runIds = new Set(spans.map((span) => span.attributes["inngest.run.id"]).filter(Boolean));
  const executorLines = lines.filter((line) => line.service === "dev-executor" && runIds.has(line.runId));
  expect(executorLines.map((line) => line.msg)).toEqual(expect.arrayContaining(["run created", "call"]));
  for (const line of executorLines) expect(line.trace_id).toBe(traceId);
});

it("answers a malformed CallSid with 400 and the reason", async () => {
  const response = await fetch(`${callflow.apiUrl}/dev/traces?call=not-a-call`);
  expect(response.status).toBe(400);
  expect(await response.json()).toEqual({ error: "call must be a CallSid: CA and 32 hex digits" });
});
