import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { startTwilioSandbox } from "@callflow/devstack";
import { afterEach, describe, expect, it } from "vitest";
import { ProviderRequestError } from "./messaging-provider.ts";
import { retryAfterSeconds } from "./twilio-client.ts";
import { createTwilioMessaging } from "./twilio-messaging.ts";

const accountSid = `AC${"c3".repeat(16)}`;
const authToken = "adapter-test-token";
const business = "+15125550100";
const contentSid = `HX${"d4".repeat(16)}`;
const statusCallback = "http://127.0.0.1:9/webhooks/twilio/messages/status";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function sandboxed() {
  const sandbox = await startTwilioSandbox({ accountSid, authToken, timing: { sentAfterMs: 5, deliveredAfterMs: 10 } });
  cleanups.push(sandbox.stop);
  return { sandbox, messaging: createTwilioMessaging({ accountSid, authToken, baseUrl: sandbox.url }) };
}

const whatsapp = (to: string) => ({
  to,
  from: business,
  contentSid,
  contentVariables: { 1: "Ana", 2: "Bakery" },
  statusCallback,
});

const sms = (to: string) => ({ to, from: business, body: "Sorry we missed your call", statusCallback });

/** A stand-in for Twilio that answers every request with `answer`, recording what it got. */
async function startFakeApi(answer: (req: IncomingMessage) => { status: number; body: string } | null) {
  const requests: { method: string; path: string; authorization: string; body: string }[] = [];
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    requests.push({
      method: req.method ?? "",
      path: req.url ?? "",
      authorization: req.headers.authorization ?? "",
      body,
    });
    const reply = answer(req);
    if (reply) res.writeHead(reply.status, { "Content-Type": "text/plain" }).end(reply.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

describe("Twilio messaging adapter, against the sandbox over HTTP", () => {
  it("sends a WhatsApp template with whatsapp: addresses, ContentSid and ContentVariables", async () => {
    const { sandbox, messaging } = await sandboxed();
    const result = await messaging.sendWhatsApp(whatsapp("+15125550105"));
    expect(result).toEqual({ ok: true, sid: expect.stringMatching(/^SM[0-9a-f]{32}$/), status: "queued" });
    expect(sandbox.sends).toHaveLength(1);
    expect(sandbox.sends[0]).toMatchObject({
      channel: "whatsapp",
      to: "+15125550105",
      from: business,
      body: null,
      contentSid,
      contentVariables: { 1: "Ana", 2: "Bakery" },
      statusCallback,
      accepted: true,
    });
  });

  it("sends an SMS and fetches its latest status", async () => {
    const { sandbox, messaging } = await sandboxed();
    const result = await messaging.sendSms(sms("+15125550107"));
    if (!result.ok) throw new Error(result.error.message);
    expect(sandbox.sends[0]).toMatchObject({ channel: "sms", to: "+15125550107", body: "Sorry we missed your call" });
    await sandbox.whenIdle();
    expect(await messaging.fetchMessage(result.sid)).toEqual({
      sid: result.sid,
      status: "delivered",
      errorCode: null,
      errorMessage: null,
    });
  });

  it("fetches a failure with its error code", async () => {
    const { sandbox, messaging } = await sandboxed();
    const result = await messaging.sendWhatsApp(whatsapp("+15125550112"));
    if (!result.ok) throw new Error(result.error.message);
    await sandbox.whenIdle();
    expect(await messaging.fetchMessage(result.sid)).toEqual({
      sid: result.sid,
      status: "failed",
      errorCode: 63016,
      errorMessage:
        "Failed to send freeform message because you are outside the allowed window. Please use a Template.",
    });
  });

  it("reports a number that is not on WhatsApp as not_on_whatsapp, with Twilio's code and a reason", async () => {
    const { sandbox, messaging } = await sandboxed();
    // Twilio usually accepts and reports 63024 by callback; a refusal of the create says the same.
    sandbox.refuseNextSend({ httpStatus: 400, code: 63024, message: "Invalid message recipient" });
    const result = await messaging.sendWhatsApp(whatsapp("+15125550110"));
    expect(result).toEqual({
      ok: false,
      error: { code: 63024, kind: "not_on_whatsapp", message: expect.stringContaining("cannot receive WhatsApp") },
    });
    expect(result.ok || result.error.message).toContain('Twilio said: "Invalid message recipient"');
  });

  it("reports a recipient who unsubscribed (21610) as recipient_opted_out", async () => {
    const { messaging } = await sandboxed();
    expect(await messaging.sendSms(sms("+15125550119"))).toEqual({
      ok: false,
      error: {
        code: 21610,
        kind: "recipient_opted_out",
        message: expect.stringContaining("unsubscribed (replied STOP) from this sender"),
      },
    });
  });

  it("reports a WhatsApp send Twilio accepted and later failed with 63024 as accepted", async () => {
    const { sandbox, messaging } = await sandboxed();
    const result = await messaging.sendWhatsApp(whatsapp("+15125550110"));
    if (!result.ok) throw new Error(result.error.message);
    await sandbox.whenIdle();
    expect(await messaging.fetchMessage(result.sid)).toEqual({
      sid: result.sid,
      status: "failed",
      errorCode: 63024,
      errorMessage: "Invalid message recipient",
    });
  });

  it("reports an invalid number and bad credentials as permanent", async () => {
    const { sandbox, messaging } = await sandboxed();
    expect(await messaging.sendSms(sms("+1512"))).toMatchObject({
      ok: false,
      error: { code: 21211, kind: "permanent" },
    });

    const wrongToken = createTwilioMessaging({ accountSid, authToken: "wrong", baseUrl: sandbox.url });
    const refused = await wrongToken.sendSms(sms("+15125550105"));
    expect(refused).toMatchObject({ ok: false, error: { code: 20003, kind: "permanent" } });
    expect(refused.ok || refused.error.message).toMatch(/Account SID and Auth Token/);
  });

  it("reports Twilio's 429 and 5xx as retryable, and does not retry by itself", async () => {
    const { sandbox, messaging } = await sandboxed();
    sandbox.refuseNextSend({ httpStatus: 429, code: 20429, message: "Too Many Requests" });
    expect(await messaging.sendSms(sms("+15125550105"))).toMatchObject({
      ok: false,
      error: { code: 20429, kind: "retryable" },
    });
    sandbox.refuseNextSend({ httpStatus: 503, code: 20503, message: "Service Unavailable" });
    expect(await messaging.sendWhatsApp(whatsapp("+15125550105"))).toMatchObject({
      ok: false,
      error: { code: 20503, kind: "retryable" },
    });
    expect(sandbox.sends.map((send) => send.accepted)).toEqual([false, false]);
  });

  it("reports a 5xx that is not Twilio-shaped JSON as retryable", async () => {
    const api = await startFakeApi(() => ({ status: 502, body: "Bad Gateway" }));
    const messaging = createTwilioMessaging({ accountSid, authToken, baseUrl: api.url });
    expect(await messaging.sendSms(sms("+15125550105"))).toEqual({
      ok: false,
      error: { code: null, kind: "retryable", message: "Twilio answered HTTP 502." },
    });
  });

  it("reports a network error as retryable, for sends and fetches: sandbox stopped, port closed, no answer", async () => {
    const { sandbox, messaging } = await sandboxed();
    const sent = await messaging.sendSms(sms("+15125550105"));
    if (!sent.ok) throw new Error(sent.error.message);
    await sandbox.stop();

    // The kept-alive connection is reset (which may come after Twilio took a request), or refused.
    expect(await messaging.sendWhatsApp(whatsapp("+15125550105"))).toMatchObject({
      ok: false,
      error: {
        code: null,
        kind: "retryable",
        message: expect.stringMatching(/^(Could not reach Twilio|Twilio) at http:/),
      },
    });
    const fetched = messaging.fetchMessage(sent.sid);
    await expect(fetched).rejects.toBeInstanceOf(ProviderRequestError);
    await expect(fetched).rejects.toMatchObject({ code: null, kind: "retryable" });

    const closedPort = createTwilioMessaging({ accountSid, authToken, baseUrl: "http://127.0.0.1:9" });
    expect(await closedPort.sendSms(sms("+15125550105"))).toMatchObject({
      ok: false,
      error: { code: null, kind: "retryable", message: expect.stringContaining("ECONNREFUSED") },
    });

    const silent = await startFakeApi(() => null);
    const timingOut = createTwilioMessaging({ accountSid, authToken, baseUrl: silent.url, timeoutMs: 200 });
    expect(await timingOut.sendSms(sms("+15125550105"))).toMatchObject({
      ok: false,
      error: { code: null, kind: "retryable", outcomeUnknown: true },
    });
  });

  it("says a refused connection never sent anything: not an unknown outcome", async () => {
    const closedPort = createTwilioMessaging({ accountSid, authToken, baseUrl: "http://127.0.0.1:9" });
    const result = await closedPort.sendSms(sms("+15125550105"));
    expect(result.ok || result.error.outcomeUnknown).toBeUndefined();
  });

  it("carries Twilio's Retry-After (seconds) on a 429, and none when Twilio gave none", async () => {
    const { sandbox, messaging } = await sandboxed();
    sandbox.refuseNextSend({ httpStatus: 429, code: 20429, message: "Too Many Requests", retryAfterSeconds: 7 });
    expect(await messaging.sendWhatsApp(whatsapp("+15125550105"))).toEqual({
      ok: false,
      error: {
        code: 20429,
        kind: "retryable",
        retryAfterSeconds: 7,
        message: expect.stringContaining("rate-limiting"),
      },
    });
    sandbox.refuseNextSend({ httpStatus: 429, code: 20429, message: "Too Many Requests" });
    const without = await messaging.sendWhatsApp(whatsapp("+15125550105"));
    expect(without.ok || "retryAfterSeconds" in without.error).toBe(false);
  });

  it("reads a Retry-After given as seconds or as an HTTP date, and nothing else", () => {
    const at = new Date(Date.now() + 30_000).toUTCString();
    expect(retryAfterSeconds(at)).toBeGreaterThanOrEqual(29);
    expect(retryAfterSeconds(at)).toBeLessThanOrEqual(31);
    expect(retryAfterSeconds("12")).toBe(12);
    expect(retryAfterSeconds("soon")).toBeNull();
    expect(retryAfterSeconds("9".repeat(100))).toBeNull();
  });

  it.each([
    ["hangs after accepting", { kind: "hang", accepted: true } as const, true],
    ["drops the connection after accepting", { kind: "drop" } as const, true],
    ["hangs without accepting", { kind: "hang", accepted: false } as const, false],
  ])("reports a send Twilio %s as an unknown outcome (the sandbox accepted it: %s)", async (_, fault, accepted) => {
    const { sandbox } = await sandboxed();
    const messaging = createTwilioMessaging({ accountSid, authToken, baseUrl: sandbox.url, timeoutMs: 300 });
    sandbox.faultNextSend(fault);
    const result = await messaging.sendSms(sms("+15125550105"));
    expect(result).toEqual({
      ok: false,
      error: {
        code: null,
        kind: "retryable",
        outcomeUnknown: true,
        message: expect.stringMatching(/did not answer \((ECONNABORTED|ECONNRESET|ETIMEDOUT)\); it may have acted on/),
      },
    });
    expect(sandbox.sends.map((send) => send.accepted)).toEqual([accepted]);
    // The next send is answered as usual.
    expect(await messaging.sendSms(sms("+15125550105"))).toMatchObject({ ok: true });
  });

  it("reports an unknown message on fetch as a permanent ProviderRequestError (20404)", async () => {
    const { messaging } = await sandboxed();
    await expect(messaging.fetchMessage(`SM${"0".repeat(32)}`)).rejects.toMatchObject({
      name: "ProviderRequestError",
      code: 20404,
      kind: "permanent",
    });
  });

  it("keeps the SDK's path, query, form body and Basic auth when pointed at a base URL with a path", async () => {
    const api = await startFakeApi(() => ({
      status: 201,
      body: JSON.stringify({ sid: `SM${"e5".repeat(16)}`, status: "queued", error_code: null }),
    }));
    const messaging = createTwilioMessaging({ accountSid, authToken, baseUrl: `${api.url}/twilio-api` });
    expect(await messaging.sendWhatsApp(whatsapp("+15125550105"))).toMatchObject({ ok: true, status: "queued" });
    const [request] = api.requests;
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe(`/twilio-api/2010-04-01/Accounts/${accountSid}/Messages.json`);
    expect(request?.authorization).toBe(`Basic ${Buffer.from(`${accountSid}:${authToken}`).toString("base64")}`);
    expect(Object.fromEntries(new URLSearchParams(request?.body))).toEqual({
      To: "whatsapp:+15125550105",
      From: `whatsapp:${business}`,
      ContentSid: contentSid,
      ContentVariables: '{"1":"Ana","2":"Bakery"}',
      StatusCallback: statusCallback,
    });
  });
});
