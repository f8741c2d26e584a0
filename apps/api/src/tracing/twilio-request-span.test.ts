// The span around each request the Twilio SDK makes: a client span under the active one,
// named by the path with its ids as {Sid}, with the answer's status and the created resource's
// sid; an error status when Twilio refuses; never the phone numbers or text it carried.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createTwilioMessaging } from "@callflow/providers";
import { context, SpanKind, trace } from "@opentelemetry/api";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTracing } from "./start-tracing.ts";

const ACCOUNT = `AC${"a".repeat(32)}`;
const SID = `SM${"b".repeat(32)}`;
const FROM = "+15125550100";
const TO_ACCEPTED = "+15125550147";
const TO_REFUSED = "+15125550144";
const BODY = "Sorry we missed your call";

// Answers as Twilio's Messages API does: 201 with the message, or 400 with an error (21211).
const twilioApi = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const to = new URLSearchParams(Buffer.concat(chunks).toString()).get("To");
    response.setHeader("content-type", "application/json");
    if (to === TO_REFUSED) {
      response.writeHead(400).end(JSON.stringify({ code: 21211, message: "Invalid 'To' Phone Number", status: 400 }));
      return;
    }
    response.writeHead(201).end(JSON.stringify({ sid: SID, status: "queued", account_sid: ACCOUNT }));
  });
});
let baseUrl = "";
beforeAll(async () => {
  await new Promise<void>((resolve) => twilioApi.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(twilioApi.address() as AddressInfo).port}`;
});
const tracing = await startTracing({
  serviceName: "callflow-test",
  otlpTracesUrl: null,
  sampler: { name: "always_on", ratio: 1 },
  localView: { capacity: 100 },
});
afterAll(async () => {
  await tracing.shutdown();
  await new Promise((resolve) => twilioApi.close(resolve));
});

async function sendUnderStep(to: string) {
  const messaging = createTwilioMessaging({ accountSid: ACCOUNT, authToken: "token", baseUrl });
  const step = trace.getTracer("test").startSpan("step send-sms", { attributes: { "callflow.call_sid": `CA${to}` } });
  const result = await context.with(trace.setSpan(context.active(), step), () =>
    messaging.sendSms({ to, from: FROM, body: BODY, statusCallback: `${baseUrl}/status` }),
  );
  step.end();
  const [found] = tracing.recent?.tracesOfCall(`CA${to}`) ?? [];
  const spans = found?.spans ?? [];
  return {
    result,
    step: spans.find((span) => span.name === "step send-sms"),
    request: spans.find((span) => span.kind === SpanKind.CLIENT),
  };
}

it("records the send as a client span of the step, with the status and the message's sid", async () => {
  const { result, step, request } = await sendUnderStep(TO_ACCEPTED);
  expect(result).toEqual({ ok: true, sid: SID, status: "queued" });
  expect(request).toMatchObject({
    name: "Twilio POST /2010-04-01/Accounts/{Sid}/Messages.json",
    parentSpanId: step?.spanId,
    status: "unset",
    attributes: {
      "http.request.method": "POST",
      "server.address": "127.0.0.1",
      "url.path": `/2010-04-01/Accounts/${ACCOUNT}/Messages.json`,
      "http.response.status_code": 201,
      "twilio.sid": SID,
    },
  });
  const recorded = JSON.stringify(request);
  for (const secret of [TO_ACCEPTED, FROM, BODY, "token"]) expect(recorded).not.toContain(secret);
});

it("marks a request Twilio refused as an error, with its status", async () => {
  const { result, request } = await sendUnderStep(TO_REFUSED);
  expect(result.ok).toBe(false);
  expect(request).toMatchObject({ status: "error", attributes: { "http.response.status_code": 400 } });
  expect(request?.attributes).not.toHaveProperty("twilio.sid");
});
