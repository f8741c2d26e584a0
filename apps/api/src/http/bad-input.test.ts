// Input the security review found answered with 500 and Postgres's own words. Each gets a
// 4xx that says what to change, stores nothing, and no client ever reads Postgres text.
import { randomUUID } from "node:crypto";
import { ORG_A, testLanes } from "@callflow/db/testing";
import { Webhook } from "standardwebhooks";
import twilio from "twilio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failureOf, startTestApi, type TestApi } from "../test-api.ts";

const CLERK_SECRET = `whsec_${Buffer.from("callflow-bad-input-clerk-secret").toString("base64")}`;
const TWILIO_TOKEN = "bad-input-twilio-token";
const TWILIO_PUBLIC_URL = "https://hooks.callflow.test";
const cursorOf = (at: string) => Buffer.from(JSON.stringify([at, randomUUID()])).toString("base64url");

describe.each(testLanes())("bad input on %s", (lane) => {
  let api: TestApi;
  let admin: ReturnType<TestApi["client"]>;
  beforeAll(async () => {
    api = await startTestApi(lane, {
      clerkWebhookSecret: CLERK_SECRET,
      twilio: { authToken: TWILIO_TOKEN, publicUrl: TWILIO_PUBLIC_URL },
    });
    admin = api.client(api.token({ orgId: ORG_A, role: "admin" }));
  });
  afterAll(() => api?.close());

  it.each([
    ["a period starting in year 0", () => admin.calls.list.query({ to: "0000-01-01T00:00:00Z" })],
    ["a period ending past year 9999", () => admin.stats.overview.query({ from: "2026-01-01", to: "+275760-01-01" })],
    ["a date that is no date", () => admin.calls.list.query({ from: "yesterday-ish" })],
    [
      "a cursor with offset +23:59",
      () => admin.calls.list.query({ cursor: cursorOf("2026-01-01T00:00:00.000000+23:59") }),
    ],
    ["a cursor in year 0", () => admin.calls.list.query({ cursor: cursorOf("0000-01-01T00:00:00.000000Z") })],
  ])("refuses %s with BAD_REQUEST", async (_what, call) => {
    const failure = await failureOf(call());
    expect(failure.code).toBe("BAD_REQUEST");
    expect(failure.message).not.toMatch(/postgres|timestamp|syntax|relation|constraint/i);
  });

  it("refuses NUL characters in text as BAD_REQUEST, writing nothing", async () => {
    const id = api.ids[ORG_A].contact;
    const failure = await failureOf(admin.contacts.optOut.mutate({ id, reason: "asked\u0000 twice" }));
    expect([failure.code, failure.message]).toEqual(["BAD_REQUEST", "text must not contain NUL characters"]);
    expect((await admin.contacts.get.query({ id })).contact.opted_out_at).toBeNull();
  });

  it("refuses a signed Twilio callback with a NUL character in a field, storing nothing", async () => {
    const url = `${TWILIO_PUBLIC_URL}/webhooks/twilio/voice`;
    const params = {
      CallSid: `CA${"9".repeat(32)}`,
      CallStatus: "completed",
      From: "+15125550147\u0000",
      To: "+15550100001",
    };
    const response = await fetch(`${api.url}/webhooks/twilio/voice`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": twilio.getExpectedTwilioSignature(TWILIO_TOKEN, url, params),
      },
      body: new URLSearchParams(params),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: '"From" must not contain a NUL character' });
    const calls = await api.scratch.database.withService((tx) =>
      tx.selectFrom("call_logs").select("id").where("call_sid", "=", params.CallSid).execute(),
    );
    expect(calls).toEqual([]);
  });

  it("refuses a signed Clerk event whose svix-id is 300 characters", async () => {
    const id = `msg_${"x".repeat(296)}`;
    const payload = JSON.stringify({ type: "organization.created", data: { id: "org_long_id", name: "Long" } });
    const timestamp = new Date();
    const response = await fetch(`${api.url}/webhooks/clerk`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "svix-id": id,
        "svix-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
        "svix-signature": new Webhook(CLERK_SECRET).sign(id, timestamp, payload),
      },
      body: payload,
    });
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain("svix-id");
  });

  it("refuses a token whose organization id has odd characters with UNAUTHORIZED", async () => {
    const token = api.token({ orgId: null, claims: { o: { id: "org_a'--", rol: "admin" } } });
    const failure = await failureOf(api.client(token).settings.get.query());
    expect(failure.code).toBe("UNAUTHORIZED");
    expect(failure.message).toMatch(/organization id that is not one/);
  });
});

describe("an internal error", () => {
  it("reaches the client as a generic message with the request id, never Postgres text", async () => {
    const api = await startTestApi("pglite");
    try {
      const broken = Object.assign(new Error('relation "public.call_logs" does not exist'), { code: "42P01" });
      // Queries read through readAsTenant, mutations through withTenant: both fail.
      api.scratch.database.withTenant = async () => {
        throw broken;
      };
      api.scratch.database.readAsTenant = async () => {
        throw broken;
      };
      const response = await fetch(`${api.url}/trpc/calls.list?input=${encodeURIComponent("{}")}`, {
        headers: { authorization: `Bearer ${api.token({ orgId: ORG_A })}`, "x-request-id": "req-internal-1" },
      });
      const text = await response.text();
      expect(response.status, text).toBe(500);
      expect(text).toContain("req-internal-1");
      expect(text).not.toMatch(/relation|call_logs|42P01|stack/);
    } finally {
      await api.close();
    }
  });
});
