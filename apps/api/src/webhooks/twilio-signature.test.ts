import { randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { ORG_A, testLanes } from "@callflow/db/testing";
import { statusCallbackUrls } from "@callflow/providers";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import twilio from "twilio";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLog } from "../log.ts";
import { type TwilioForm, verifyTwilioSignature } from "./twilio-signature.ts";
import {
  AUTH_TOKEN,
  CALLER,
  errorOf,
  formBody,
  insertSentMessage,
  NUMBER_A,
  newCallSid,
  newMessageSid,
  type PostOptions,
  PUBLIC_URL,
  startTwilioTestServer,
  type TwilioTestServer,
} from "./twilio-test-server.ts";
import { twilioWebhooks } from "./twilio-webhooks.ts";

async function listen(app: Hono) {
  const http = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => http.once("listening", () => resolve()));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}

// The example twilio-node's own test suite signs: auth token 12345, this URL, these fields.
describe("Twilio's published signature example", () => {
  const params = {
    CallSid: "CA1234567890ABCDE",
    Caller: "+14158675309",
    Digits: "1234",
    From: "+14158675309",
    To: "+18005551212",
  };
  const signature = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
  let server: Awaited<ReturnType<typeof listen>>;
  beforeAll(async () => {
    const app = new Hono().post(
      "/myapp.php",
      verifyTwilioSignature({ authToken: "12345", publicUrl: "https://mycompany.com" }),
      (c) => c.json(c.get("twilioForm")),
    );
    server = await listen(app);
  });
  afterAll(() => server?.close());

  const post = (target: string, body: Record<string, string>, headerSignature = signature) =>
    fetch(`${server.url}${target}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": headerSignature },
      body: formBody(body),
    });

  it("is accepted as requested at https://mycompany.com/myapp.php?foo=1&bar=2", async () => {
    const response = await post("/myapp.php?foo=1&bar=2", params);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(params);
  });

  it("is refused with a parameter, the query or the signature changed", async () => {
    expect((await post("/myapp.php?foo=1&bar=2", { ...params, Digits: "1235" })).status).toBe(403);
    expect((await post("/myapp.php?foo=1&bar=3", params)).status).toBe(403);
    const changed = await post("/myapp.php?foo=1&bar=2", params, "GvWf1cFY/Q7PnoempGyD5oXAezc=");
    expect(changed.status).toBe(403);
    expect(await errorOf(changed)).toBe("X-Twilio-Signature does not match this request");
  });

  it("is accepted whatever trailing slashes the public URL was configured with", async () => {
    for (const publicUrl of ["https://mycompany.com/", "https://mycompany.com//"]) {
      const app = new Hono().post("/myapp.php", verifyTwilioSignature({ authToken: "12345", publicUrl }), (c) =>
        c.json(c.get("twilioForm")),
      );
      const response = await app.request("/myapp.php?foo=1&bar=2", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature },
        body: formBody(params),
      });
      expect(response.status, publicUrl).toBe(200);
    }
  });

  it.each([
    ["application/x-www-form-urlencoded; charset=utf-8", true],
    ["Application/X-WWW-Form-Urlencoded", true],
    ["application/x-www-form-urlencodedish", false],
    ["text/plain; note=application/x-www-form-urlencoded", false],
  ])("reads a body sent as %j as a form: %s", async (contentType, readAsForm) => {
    const response = await fetch(`${server.url}/myapp.php?foo=1&bar=2`, {
      method: "POST",
      headers: { "content-type": contentType, "x-twilio-signature": signature },
      body: formBody(params),
    });
    // A body not read as a form has no fields, and the signature of these fields does not match it.
    expect(response.status).toBe(readAsForm ? 200 : 403);
  });
});

describe("the URL a signature covers", () => {
  const token = "raw-target-token";
  const publicUrl = "https://hooks.callflow.test";
  const params = { CallSid: `CA${"0".repeat(32)}`, From: "+14158675309" };
  const app = new Hono().post("/voice", verifyTwilioSignature({ authToken: token, publicUrl }), (c) =>
    c.json(c.get("twilioForm")),
  );

  it("is the path and query as Twilio requested them, not as a URL parser re-encodes them", async () => {
    // Node's server keeps the request line as sent: < stays <, where the parsed URL has %3C.
    const server = await listen(app);
    try {
      const target = "/voice?note=<urgent>";
      const status = await new Promise<number>((resolve, reject) => {
        const url = new URL(server.url);
        const body = formBody(params);
        const request = httpRequest(
          {
            host: url.hostname,
            port: url.port,
            method: "POST",
            path: target,
            headers: {
              "content-type": "application/x-www-form-urlencoded",
              "x-twilio-signature": twilio.getExpectedTwilioSignature(token, `${publicUrl}${target}`, params),
            },
          },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          },
        );
        request.on("error", reject);
        request.end(body);
      });
      expect(status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it("is read from the request's URL where no Node request line is at hand", async () => {
    const response = await app.request("http://internal:8080/voice?x=1", {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": twilio.getExpectedTwilioSignature(token, `${publicUrl}/voice?x=1`, params),
      },
      body: formBody(params),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(params);
  });
});

describe.each(testLanes())("Twilio webhook signatures and bad input on %s", (lane) => {
  let server: TwilioTestServer;
  let messageId: string;
  const messageSidOnFile = newMessageSid();
  beforeAll(async () => {
    server = await startTwilioTestServer(lane);
    ({ messageId } = await insertSentMessage(server, ORG_A, { providerSid: messageSidOnFile }));
  });
  afterAll(() => server?.close());
  beforeEach(async () => {
    await server.clearEvents();
  });

  // One valid request per webhook: each would store rows if it got through.
  const requests = (): Array<{ path: string; params: Record<string, string>; query?: string }> => [
    {
      path: "/voice",
      params: { CallSid: newCallSid(), CallStatus: "completed", From: CALLER, To: NUMBER_A, CallDuration: "8" },
    },
    {
      path: "/messages/status",
      params: { MessageSid: messageSidOnFile, MessageStatus: "read" },
      query: new URL(
        statusCallbackUrls({ publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN }).urlFor(messageId),
      ).search.slice(1),
    },
    {
      path: "/messages/inbound",
      params: { MessageSid: newMessageSid(), From: CALLER, To: NUMBER_A, Body: "Call me back" },
    },
  ];
  type WebhookRequest = ReturnType<typeof requests>[number];

  it.each<[string, (request: WebhookRequest) => { sent?: TwilioForm; options: PostOptions }]>([
    ["no signature", () => ({ options: { signature: null } })],
    ["a signature that is not one", () => ({ options: { signature: "bm90IGEgc2lnbmF0dXJl" } })],
    ["an empty signature", () => ({ options: { signature: "" } })],
    ["the wrong auth token", () => ({ options: { token: "another-accounts-auth-token" } })],
    [
      "a tampered parameter",
      (request) => ({ sent: { ...request.params, To: "+15125550999" }, options: { signedParams: request.params } }),
    ],
    [
      "a parameter added",
      (request) => ({ sent: { ...request.params, ErrorCode: "30003" }, options: { signedParams: request.params } }),
    ],
    [
      "the URL signed for another webhook",
      (request) => ({ options: { signedTarget: request.path === "/voice" ? "/messages/inbound" : "/voice" } }),
    ],
    [
      "the URL signed with another query",
      (request) => ({ options: { signedTarget: `${request.path}?messageId=${randomUUID()}` } }),
    ],
  ])("refuses a request with %s with 403 and stores nothing", async (_name, tamper) => {
    const before = await server.rowCounts();
    for (const request of requests()) {
      const { sent, options } = tamper(request);
      const response = await server.post(request.path, sent ?? request.params, { query: request.query, ...options });
      expect(response.status, request.path).toBe(403);
      expect(await errorOf(response)).toBe(
        options.signature === null || options.signature === ""
          ? "missing X-Twilio-Signature header"
          : "X-Twilio-Signature does not match this request",
      );
    }
    expect(await server.rowCounts()).toEqual(before);
    expect(await server.events()).toEqual([]);
  });

  it("accepts the same requests correctly signed (the refusals above were the signature's doing)", async () => {
    for (const request of requests())
      expect((await server.post(request.path, request.params, { query: request.query })).status).toBe(200);
  });

  it("refuses a signed body that is not a form with 400", async () => {
    const before = await server.rowCounts();
    for (const request of requests()) {
      const response = await server.post(
        request.path,
        {},
        {
          query: request.query,
          contentType: "application/json",
          body: JSON.stringify(request.params),
        },
      );
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toBe("expected an application/x-www-form-urlencoded body");
    }
    expect(await server.rowCounts()).toEqual(before);
  });

  it("refuses a field sent twice with 400", async () => {
    const sid = newCallSid();
    const response = await server.post("/voice", {
      CallSid: sid,
      CallStatus: ["ringing", "completed"],
      From: CALLER,
      To: NUMBER_A,
    });
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toContain("CallStatus must be sent once");
  });

  it("refuses a NUL character in any value of a field sent twice, naming the field", async () => {
    const before = await server.rowCounts();
    const response = await server.post("/messages/inbound", {
      MessageSid: newMessageSid(),
      From: CALLER,
      To: NUMBER_A,
      Body: ["Call me back", "at\u0000 noon"],
    });
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toBe('"Body" must not contain a NUL character');
    expect(await server.rowCounts()).toEqual(before);
  });

  it("answers 503 and reads nothing while no auth token is configured", async () => {
    const app = new Hono().route(
      "/webhooks/twilio",
      twilioWebhooks({
        database: server.scratch.database,
        authToken: "",
        publicUrl: "https://hooks.callflow.test",
        outbox: { wake() {} },
        log: createLog("silent"),
      }),
    );
    const unconfigured = await listen(app);
    try {
      const response = await fetch(`${unconfigured.url}/webhooks/twilio/voice`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": "anything" },
        body: formBody({ CallSid: newCallSid() }),
      });
      expect(response.status).toBe(503);
      expect(await errorOf(response)).toBe("Twilio webhooks are not configured (no Twilio auth token)");
    } finally {
      await unconfigured.close();
    }
  });
});
