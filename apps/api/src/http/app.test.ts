import { ORG_A, testLanes } from "@callflow/db/testing";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi, WEB_ORIGIN } from "../test-api.ts";

const CLERK_SECRET = `whsec_${Buffer.from("callflow-test-clerk-webhook-secret").toString("base64")}`;

describe.each(testLanes())("HTTP surface on %s", (lane) => {
  let api: TestApi;
  let admin: string;
  beforeAll(async () => {
    api = await startTestApi(lane, { clerkWebhookSecret: CLERK_SECRET, rateLimitPerMinute: 30, maxBatchSize: 3 });
    admin = api.token({ orgId: ORG_A });
  });
  afterAll(() => api?.close());

  it("answers health and readiness", async () => {
    expect(await (await fetch(`${api.url}/healthz`)).json()).toEqual({ ok: true });
    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).toBe(200);
  });

  it("echoes or assigns a request id", async () => {
    const response = await fetch(`${api.url}/healthz`, { headers: { "x-request-id": "req-123" } });
    expect(response.headers.get("x-request-id")).toBe("req-123");
    expect((await fetch(`${api.url}/healthz`)).headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("allows the dashboard's origin only", async () => {
    const preflight = (origin: string) =>
      fetch(`${api.url}/trpc/calls.list`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
      });
    expect((await preflight(WEB_ORIGIN)).headers.get("access-control-allow-origin")).toBe(WEB_ORIGIN);
    expect((await preflight("https://evil.example")).headers.get("access-control-allow-origin")).toBeNull();
    // A request itself: the answer names the allowed origin, varies by Origin, keeps its body.
    const call = (origin: string) =>
      fetch(`${api.url}/trpc/calls.list?input=${encodeURIComponent(JSON.stringify({ limit: 5 }))}`, {
        headers: { origin, authorization: `Bearer ${api.token({ orgId: ORG_A })}`, "x-request-id": "req-cors" },
      });
    const allowed = await call(WEB_ORIGIN);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(WEB_ORIGIN);
    expect(allowed.headers.get("vary")?.split(/,\s*/)).toContain("Origin");
    expect(allowed.headers.get("x-request-id")).toBe("req-cors");
    const body = (await allowed.json()) as { result: { data: { items: unknown[] } } };
    expect(body.result.data.items.length).toBeGreaterThan(0);
    const refused = await call("https://evil.example");
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    expect(refused.headers.get("vary")?.split(/,\s*/)).toContain("Origin");
  });

  it("answers UNAUTHORIZED with the reason over HTTP", async () => {
    const response = await fetch(`${api.url}/trpc/calls.list`, { headers: { authorization: "Bearer nope" } });
    expect(response.status).toBe(401);
    expect(JSON.stringify(await response.json())).toContain("session token is malformed");
    const basic = await fetch(`${api.url}/trpc/calls.list`, { headers: { authorization: "Basic abc" } });
    expect(basic.status).toBe(401);
  });

  it("refuses bodies over the limit with 413", async () => {
    const response = await fetch(`${api.url}/trpc/templates.create`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ smsBody: "x".repeat(70 * 1024) }),
    });
    expect(response.status).toBe(413);
    const webhook = await fetch(`${api.url}/webhooks/twilio/voice`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `Body=${"x".repeat(70 * 1024)}`,
    });
    expect(webhook.status).toBe(413);
    // Chunked, with no Content-Length to go by: the body is counted as it arrives.
    const chunk = new TextEncoder().encode(`Body=${"x".repeat(16 * 1024)}`);
    const chunked = await fetch(`${api.url}/webhooks/twilio/voice`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 5; i++) controller.enqueue(chunk);
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
  });

  it("caps the batch size", async () => {
    const paths = Array.from({ length: 4 }, () => "settings.get").join(",");
    const response = await fetch(`${api.url}/trpc/${paths}?batch=1&input={}`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(response.status).toBe(400);
  });

  it("rate limits per user and org with TOO_MANY_REQUESTS", async () => {
    const token = api.token({ orgId: ORG_A, userId: "user_busy" });
    const statuses: number[] = [];
    for (let i = 0; i < 32; i++) {
      statuses.push(
        (await fetch(`${api.url}/trpc/settings.get`, { headers: { authorization: `Bearer ${token}` } })).status,
      );
    }
    expect(statuses.slice(0, 30).every((status) => status === 200)).toBe(true);
    expect(statuses.slice(30)).toEqual([429, 429]);
    const limited = await fetch(`${api.url}/trpc/settings.get`, { headers: { authorization: `Bearer ${token}` } });
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    // Another user of the same org is not slowed down by this one.
    expect(
      (await fetch(`${api.url}/trpc/settings.get`, { headers: { authorization: `Bearer ${admin}` } })).status,
    ).toBe(200);
  });

  it("creates an organization's row on its first request", async () => {
    const token = api.token({ orgId: "org_brand_new", role: "admin" });
    const settings = await api.client(token).settings.get.query();
    expect(settings).toMatchObject({ id: "org_brand_new", name: "brand-new", fallback_window_seconds: 300 });
  });

  describe("Clerk webhook", () => {
    const post = (body: object, sign = true) => {
      const payload = JSON.stringify(body);
      const id = `msg_${Math.random().toString(36).slice(2)}`;
      const timestamp = new Date();
      const signature = sign ? new Webhook(CLERK_SECRET).sign(id, timestamp, payload) : "v1,bm90IGEgc2lnbmF0dXJl";
      return fetch(`${api.url}/webhooks/clerk`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "svix-id": id,
          "svix-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
          "svix-signature": signature,
        },
        body: payload,
      });
    };
    const orgRow = (id: string) =>
      api.scratch.database.withService((tx) =>
        tx.selectFrom("organizations").select(["id", "name"]).where("id", "=", id).executeTakeFirst(),
      );

    it("rejects a bad signature and stores nothing", async () => {
      const response = await post({ type: "organization.created", data: { id: "org_unsigned", name: "Nope" } }, false);
      expect(response.status).toBe(401);
      expect(await orgRow("org_unsigned")).toBeUndefined();
    });

    it("creates, renames and deletes organizations", async () => {
      expect(
        (await post({ type: "organization.created", data: { id: "org_from_clerk", name: "From Clerk" } })).status,
      ).toBe(200);
      expect(await orgRow("org_from_clerk")).toEqual({ id: "org_from_clerk", name: "From Clerk" });
      await post({ type: "organization.updated", data: { id: "org_from_clerk", name: "Renamed" } });
      expect(await orgRow("org_from_clerk")).toEqual({ id: "org_from_clerk", name: "Renamed" });
      await post({ type: "organization.deleted", data: { id: "org_from_clerk" } });
      expect(await orgRow("org_from_clerk")).toBeUndefined();
    });

    it("acknowledges events it does not handle", async () => {
      expect((await post({ type: "user.created", data: { id: "user_1" } })).status).toBe(200);
    });
  });
});

describe("limits by client address", () => {
  it("limits requests without a valid session per address, with Retry-After, and not signed-in users", async () => {
    const api = await startTestApi("pglite", { anonymousRateLimitPerMinute: 5 });
    try {
      // A user signed in before the address was limited (their token verified, so cached).
      const admin = api.token({ orgId: ORG_A });
      const asAdmin = () => fetch(`${api.url}/trpc/settings.get`, { headers: { authorization: `Bearer ${admin}` } });
      expect((await asAdmin()).status).toBe(200);
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        const headers: Record<string, string> = i % 2 ? { authorization: "Bearer forged.token.here" } : {};
        statuses.push((await fetch(`${api.url}/trpc/settings.get`, { headers })).status);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
      const limited = await fetch(`${api.url}/trpc/settings.get`);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(await limited.json())).toContain("TOO_MANY_REQUESTS");
      // The signed-in user at the same address carries on; a token never seen before waits.
      expect((await asAdmin()).status).toBe(200);
      const fresh = api.token({ orgId: ORG_A, userId: "user_fresh" });
      const freshStatus = (
        await fetch(`${api.url}/trpc/settings.get`, { headers: { authorization: `Bearer ${fresh}` } })
      ).status;
      expect(freshStatus).toBe(429);
    } finally {
      await api.close();
    }
  });

  it("lets only the allowed networks call webhooks when an allowlist is set", async () => {
    const denied = await startTestApi("pglite", { webhookAllowedCidrs: ["10.0.0.0/8", "2001:db8::/32"] });
    const allowed = await startTestApi("pglite", { webhookAllowedCidrs: ["127.0.0.0/8"] });
    try {
      const post = (url: string) => fetch(`${url}/webhooks/clerk`, { method: "POST", body: "{}" });
      const refused = await post(denied.url);
      expect(refused.status).toBe(403);
      expect(await refused.json()).toEqual({ error: expect.stringContaining("WEBHOOK_ALLOWED_CIDRS") });
      // Past the allowlist, the signature check answers (no Clerk secret here: 503).
      expect((await post(allowed.url)).status).toBe(503);
    } finally {
      await denied.close();
      await allowed.close();
    }
  });

  it("refuses an allowlist entry that is not a CIDR block at start", async () => {
    await expect(startTestApi("pglite", { webhookAllowedCidrs: ["10.0.0.0"] })).rejects.toThrow(/not a CIDR block/);
  });
});
