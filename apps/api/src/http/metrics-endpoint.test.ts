// GET /metrics: Prometheus text that a parser reads, requests counted by their route pattern
// (never the raw path), and who may scrape: loopback peers without METRICS_TOKEN, bearers of
// the token with it.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migratedDatabase, ORG_A, type ScratchDatabase, testLanes } from "@callflow/db/testing";
import twilio from "twilio";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { chooseAuth } from "../auth/auth-mode.ts";
import { loadConfig } from "../config.ts";
import { createLog } from "../log.ts";
import { readExposition } from "../observability/exposition-reader.ts";
import { startCallflow } from "../start-callflow.ts";
import { startTestApi, type TestApi, WEB_ORIGIN } from "../test-api.ts";
import { createApp } from "./app.ts";

const TWILIO_TOKEN = "metrics-test-twilio-auth-token";
const PUBLIC_URL = "https://hooks.callflow.test";
const METRICS_TOKEN = "scrape-me-0123456789abcdef";

const scrape = async (url: string, headers: Record<string, string> = {}) => {
  const response = await fetch(`${url}/metrics`, { headers });
  expect(response.status).toBe(200);
  return readExposition(await response.text());
};

describe.each(testLanes())("GET /metrics on %s", (lane) => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi(lane, { twilio: { authToken: TWILIO_TOKEN, publicUrl: PUBLIC_URL }, metricsCacheMs: 0 });
  });
  afterAll(() => api?.close());

  const voiceCallback = (options: { forged?: boolean } = {}) => {
    const params = {
      AccountSid: `AC${"1".repeat(32)}`,
      CallSid: `CA${randomBytes(16).toString("hex")}`,
      CallStatus: "completed",
      CallDuration: "12",
      From: "+15125550123",
      To: "+15550100001",
      Direction: "inbound",
    };
    const signature = twilio.getExpectedTwilioSignature(
      options.forged ? "not-the-auth-token" : TWILIO_TOKEN,
      `${PUBLIC_URL}/webhooks/twilio/voice`,
      params,
    );
    return fetch(`${api.url}/webhooks/twilio/voice`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature },
      body: new URLSearchParams(params).toString(),
    });
  };

  it("answers Prometheus's text format, every family a parser reads, with the delivery and process metrics", async () => {
    const response = await fetch(`${api.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const exposition = readExposition(await response.text());
    expect(Object.fromEntries(exposition.families)).toMatchObject({
      callflow_http_requests_total: "counter",
      callflow_http_request_duration_seconds: "histogram",
      callflow_message_jobs_completed: "gauge",
      callflow_message_jobs_open: "gauge",
      callflow_outbox_unsent: "gauge",
      callflow_delivery_metrics_up: "gauge",
      process_cpu_seconds_total: "counter",
      process_resident_memory_bytes: "gauge",
      nodejs_eventloop_lag_p99_seconds: "gauge",
    });
    expect(exposition.value("callflow_delivery_metrics_up")).toBe(1);
    // The fixture's two jobs are pending.
    expect(exposition.value("callflow_message_jobs_open", { status: "pending" })).toBe(2);
  });

  it("counts a webhook under its route pattern with its outcome and latency; a forged signature is a 4xx", async () => {
    const route = { route: "/webhooks/twilio/voice", method: "POST" };
    const before = await scrape(api.url);
    expect((await voiceCallback()).status).toBe(200);
    expect((await voiceCallback({ forged: true })).status).toBe(403);
    const after = await scrape(api.url);

    const moved = (name: string, labels: Record<string, string>) =>
      (after.value(name, labels) ?? 0) - (before.value(name, labels) ?? 0);
    for (const status_class of ["2xx", "4xx"]) {
      expect(moved("callflow_http_requests_total", { ...route, status_class })).toBe(1);
      expect(moved("callflow_http_request_duration_seconds_count", { ...route, status_class })).toBe(1);
      expect(moved("callflow_http_request_duration_seconds_bucket", { ...route, status_class, le: "+Inf" })).toBe(1);
      expect(after.value("callflow_http_request_duration_seconds_sum", { ...route, status_class })).toBeGreaterThan(0);
    }
    // The accepted callback's event waits in the outbox (no relay here).
    expect(after.value("callflow_outbox_unsent")).toBe((before.value("callflow_outbox_unsent") ?? 0) + 1);
    // The call was written for ORG_A: neither the business nor the caller shows in the output.
    const text = await (await fetch(`${api.url}/metrics`)).text();
    for (const secret of [ORG_A, "5125550123", "5550100001"]) expect(text).not.toContain(secret);
  });

  it("labels tRPC by procedure from the router's list and everything else by pattern, never by what the path holds", async () => {
    const admin = { authorization: `Bearer ${api.token({ orgId: ORG_A })}` };
    expect((await fetch(`${api.url}/trpc/settings.get`, { headers: admin })).status).toBe(200);
    const batch = await fetch(`${api.url}/trpc/settings.get,calls.list?batch=1&input={}`, { headers: admin });
    expect([200, 207]).toContain(batch.status);
    expect((await fetch(`${api.url}/trpc/no.such.procedure9876`, { headers: admin })).status).toBe(404);
    expect((await fetch(`${api.url}/calls/5551234/${ORG_A}`)).status).toBe(404);
    const after = await scrape(api.url);

    const requests = (route: string, status_class: string) =>
      after.value("callflow_http_requests_total", { route, method: "GET", status_class });
    expect(requests("/trpc/settings.get", "2xx")).toBe(1);
    expect(requests("/trpc/(batch)", "2xx")).toBe(1);
    expect(requests("/trpc/*", "4xx")).toBe(1);
    expect(requests("unmatched", "4xx")).toBe(1);
    const labelValues = after.samples.flatMap((sample) => Object.values(sample.labels));
    for (const raw of ["5551234", ORG_A, "9876"])
      expect(labelValues.filter((value) => value.includes(raw))).toEqual([]);
  });
});

describe.each(testLanes())("who may scrape GET /metrics on %s", (lane) => {
  let scratch: ScratchDatabase;
  beforeAll(async () => {
    scratch = await migratedDatabase(lane);
  });
  afterAll(() => scratch?.dispose());

  /** The app as @hono/node-server hands it a request from this TCP peer. */
  const fromPeer = (app: ReturnType<typeof createApp>, remoteAddress: string, headers: Record<string, string> = {}) =>
    app.request("/metrics", { headers }, { incoming: { socket: { remoteAddress, remotePort: 50123 } } });

  it("without METRICS_TOKEN answers loopback peers only, and nothing a proxy forwarded", async () => {
    const app = appOver(scratch);
    for (const peer of ["127.0.0.1", "::1", "::ffff:127.0.0.1"]) expect((await fromPeer(app, peer)).status).toBe(200);
    for (const peer of ["203.0.113.9", "::ffff:192.0.2.7", "2001:db8::1", "10.0.0.3"]) {
      const refused = await fromPeer(app, peer);
      expect(refused.status).toBe(403);
      expect(await refused.json()).toEqual({ error: expect.stringContaining("set METRICS_TOKEN") });
    }
    // A reverse proxy on this machine connects from loopback: what it forwards is not local.
    for (const header of ["x-forwarded-for", "forwarded", "x-real-ip"]) {
      const proxied = await fromPeer(app, "127.0.0.1", {
        [header]: header === "forwarded" ? "for=203.0.113.9" : "203.0.113.9",
      });
      expect(proxied.status).toBe(403);
      expect(await proxied.json()).toEqual({ error: expect.stringContaining("came through a proxy") });
    }
    // A token means nothing when none is configured: still refused from elsewhere.
    expect((await fromPeer(app, "203.0.113.9", { authorization: `Bearer ${METRICS_TOKEN}` })).status).toBe(403);
  });

  it("with METRICS_TOKEN wants exactly that bearer, from anywhere, loopback included", async () => {
    const app = appOver(scratch, METRICS_TOKEN);
    const missing = await fromPeer(app, "127.0.0.1");
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
    expect(await missing.json()).toEqual({ error: "GET /metrics needs Authorization: Bearer <METRICS_TOKEN>" });
    expect((await fromPeer(app, "127.0.0.1", { authorization: `Basic ${METRICS_TOKEN}` })).status).toBe(401);
    for (const wrong of ["wrong-token-0123456789abcdef", METRICS_TOKEN.slice(0, -1), `${METRICS_TOKEN}x`]) {
      const refused = await fromPeer(app, "203.0.113.9", { authorization: `Bearer ${wrong}` });
      expect(refused.status).toBe(403);
      expect(await refused.text()).not.toContain("callflow_");
    }
    for (const peer of ["127.0.0.1", "203.0.113.9"]) {
      const allowed = await fromPeer(app, peer, { authorization: `Bearer ${METRICS_TOKEN}` });
      expect(allowed.status).toBe(200);
      expect(readExposition(await allowed.text()).value("callflow_delivery_metrics_up")).toBe(1);
    }
  });

  it("over real TCP from this machine, refuses a scrape without the token once one is set", async () => {
    const open = await startTestApi(lane);
    const closed = await startTestApi(lane, { metricsToken: METRICS_TOKEN });
    try {
      expect((await fetch(`${open.url}/metrics`)).status).toBe(200);
      expect((await fetch(`${closed.url}/metrics`)).status).toBe(401);
      const right = await fetch(`${closed.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(right.status).toBe(200);
    } finally {
      await open.close();
      await closed.close();
    }
  });
});

describe("METRICS_TOKEN from the environment to the running product", () => {
  it("is refused at start when it is not a usable bearer token, naming the variable", () => {
    // t3-env prints the failing variables before it throws; that print is what a person reads.
    const printed = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      for (const bad of ["short", "sixteen chars ok but spaces"]) {
        printed.mockClear();
        expect(() => loadConfig({ METRICS_TOKEN: bad, LOG_LEVEL: "silent" })).toThrow(/Invalid environment/);
        expect(JSON.stringify(printed.mock.calls)).toContain("METRICS_TOKEN");
      }
    } finally {
      printed.mockRestore();
    }
  });

  it("guards GET /metrics of the product started from that environment", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "callflow-metrics-product-"));
    const config = loadConfig({ DATA_DIR: dataDir, PORT: "0", LOG_LEVEL: "silent", DB_PORT: "", METRICS_TOKEN });
    const callflow = await startCallflow({ ...config, webPort: null });
    try {
      await callflow.ready;
      expect((await fetch(`${callflow.apiUrl}/metrics`)).status).toBe(401);
      const scraped = await fetch(`${callflow.apiUrl}/metrics`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      expect(scraped.status).toBe(200);
      const exposition = readExposition(await scraped.text());
      expect(exposition.value("callflow_delivery_metrics_up")).toBe(1);
      // Its own sync of the functions (PUT /api/inngest) was counted under its route.
      expect(
        exposition.value("callflow_http_requests_total", { route: "/api/inngest", method: "PUT", status_class: "2xx" }),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      await callflow.stop();
    }
  });
});

function appOver(scratch: ScratchDatabase, metricsToken?: string) {
  const { verifySession } = chooseAuth({
    dataDir: mkdtempSync(join(tmpdir(), "callflow-metrics-")),
    authorizedParties: [WEB_ORIGIN],
  });
  return createApp({
    database: scratch.database,
    verifySession,
    log: createLog("silent"),
    webOrigins: [WEB_ORIGIN],
    rateLimitPerMinute: 1000,
    maxBodyBytes: 64 * 1024,
    maxBatchSize: 10,
    ...(metricsToken ? { metricsToken } : {}),
  });
}
