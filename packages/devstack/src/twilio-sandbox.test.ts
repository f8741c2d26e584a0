import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import twilio from "twilio";
import { afterEach, describe, expect, it } from "vitest";
import { startTwilioSandbox, type TwilioSandbox } from "./twilio-sandbox.ts";

const accountSid = `AC${"a1".repeat(16)}`;
const authToken = "sandbox-auth-token";
const business = "+15125550100";
const contentSid = `HX${"b2".repeat(16)}`;

interface Received {
  path: string;
  params: Record<string, string>;
  signatureValid: boolean;
}

/** A webhook receiver that checks every request's signature with the SDK, as our webhooks will. */
async function startReceiver(answer = 200) {
  const received: Received[] = [];
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const params = Object.fromEntries(new URLSearchParams(body));
    const url = `${base}${req.url}`;
    const signature = String(req.headers["x-twilio-signature"] ?? "");
    received.push({
      path: req.url ?? "",
      params,
      signatureValid: twilio.validateRequest(authToken, signature, url, params),
    });
    res.writeHead(answer).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stop = () => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { base, received, stop };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup(answer = 200) {
  const sandbox = await startTwilioSandbox({
    accountSid,
    authToken,
    timing: { sentAfterMs: 10, deliveredAfterMs: 30, readAfterMs: 50 },
  });
  const receiver = await startReceiver(answer);
  cleanups.push(sandbox.stop, receiver.stop);
  return { sandbox, receiver };
}

/** A raw REST call, the way the SDK makes it: form-encoded, HTTP Basic auth. */
async function api(
  sandbox: TwilioSandbox,
  path: string,
  form?: Record<string, string>,
  credentials = `${accountSid}:${authToken}`,
) {
  const response = await fetch(`${sandbox.url}/2010-04-01/Accounts/${accountSid}${path}`, {
    method: form ? "POST" : "GET",
    headers: {
      Authorization: `Basic ${Buffer.from(credentials).toString("base64")}`,
      ...(form ? { "Content-Type": "application/x-www-form-urlencoded" } : {}),
    },
    ...(form ? { body: new URLSearchParams(form).toString() } : {}),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

function sendWhatsApp(sandbox: TwilioSandbox, receiver: Receiver, to: string) {
  return api(sandbox, "/Messages.json", {
    To: `whatsapp:${to}`,
    From: `whatsapp:${business}`,
    ContentSid: contentSid,
    ContentVariables: JSON.stringify({ 1: "Ana", 2: "Bakery" }),
    StatusCallback: `${receiver.base}/webhooks/twilio/messages/status?job=1`,
  });
}

function sendSms(sandbox: TwilioSandbox, receiver: Receiver, to: string) {
  return api(sandbox, "/Messages.json", {
    To: to,
    From: business,
    Body: "Sorry we missed your call",
    StatusCallback: `${receiver.base}/webhooks/twilio/messages/status`,
  });
}

const statusesFor = (receiver: Receiver, sid: unknown) =>
  receiver.received.filter((r) => r.params.MessageSid === sid).map((r) => [r.params.MessageStatus, r.params.ErrorCode]);

describe("Twilio sandbox", () => {
  it("accepts a WhatsApp template send like Twilio and reports sent, delivered, read with signed callbacks", async () => {
    const { sandbox, receiver } = await setup();
    const created = await sendWhatsApp(sandbox, receiver, "+15125550105");
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      account_sid: accountSid,
      status: "queued",
      to: "whatsapp:+15125550105",
      from: `whatsapp:${business}`,
      error_code: null,
      direction: "outbound-api",
      api_version: "2010-04-01",
    });
    expect(created.json.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(created.json.date_created).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
    expect(sandbox.sends[0]).toMatchObject({
      channel: "whatsapp",
      to: "+15125550105",
      from: business,
      contentSid,
      contentVariables: { 1: "Ana", 2: "Bakery" },
      accepted: true,
    });

    await sandbox.whenIdle();
    expect(statusesFor(receiver, created.json.sid)).toEqual([
      ["sent", undefined],
      ["delivered", undefined],
      ["read", undefined],
    ]);
    for (const callback of receiver.received) {
      expect(callback.signatureValid).toBe(true);
      expect(callback.path).toBe("/webhooks/twilio/messages/status?job=1");
      expect(callback.params).toMatchObject({
        AccountSid: accountSid,
        ApiVersion: "2010-04-01",
        SmsSid: created.json.sid,
        ChannelPrefix: "whatsapp",
        To: "whatsapp:+15125550105",
        From: `whatsapp:${business}`,
      });
      expect(callback.params.SmsStatus).toBe(callback.params.MessageStatus);
    }
    const fetched = await api(sandbox, `/Messages/${created.json.sid}.json`);
    expect(fetched).toMatchObject({ status: 200, json: { sid: created.json.sid, status: "read", error_code: null } });
  });

  it("delivers SMS to an ordinary number, with SMS-shaped callbacks", async () => {
    const { sandbox, receiver } = await setup();
    const created = await sendSms(sandbox, receiver, "+15125550107");
    expect(created).toMatchObject({ status: 201, json: { status: "queued", to: "+15125550107", from: business } });
    await sandbox.whenIdle();
    expect(statusesFor(receiver, created.json.sid)).toEqual([
      ["sent", undefined],
      ["delivered", undefined],
    ]);
    expect(receiver.received.every((r) => r.signatureValid && r.params.ChannelPrefix === undefined)).toBe(true);
    expect((await api(sandbox, `/Messages/${created.json.sid}.json`)).json.status).toBe("delivered");
  });

  it("loses a number's status callbacks when told to: its record moves on, a fetch answers it, nothing is posted", async () => {
    const { sandbox, receiver } = await setup();
    sandbox.loseStatusCallbacksTo("+15125550117");
    const lost = await sendSms(sandbox, receiver, "+15125550117");
    const kept = await sendSms(sandbox, receiver, "+15125550127");
    await sandbox.whenIdle();
    expect(statusesFor(receiver, lost.json.sid)).toEqual([]);
    expect(statusesFor(receiver, kept.json.sid)).toHaveLength(2);
    expect((await api(sandbox, `/Messages/${lost.json.sid}.json`)).json.status).toBe("delivered");
  });

  it("changes a message's record without a callback when told to, as a fetch then shows", async () => {
    const { sandbox, receiver } = await setup();
    const created = await sendSms(sandbox, receiver, "+15125550137");
    await sandbox.whenIdle();
    sandbox.setMessageStatus(created.json.sid as string, "undelivered", 30003);
    expect((await api(sandbox, `/Messages/${created.json.sid}.json`)).json).toMatchObject({
      status: "undelivered",
      error_code: 30003,
      error_message: "Unreachable destination handset",
    });
    expect(statusesFor(receiver, created.json.sid)).toHaveLength(2);
    expect(() => sandbox.setMessageStatus(`SM${"0".repeat(32)}`, "sent")).toThrow("the sandbox has no message");
  });

  it("keeps a status set by hand over the scripted ones still to come, and posts none of them", async () => {
    const { sandbox, receiver } = await setup();
    const created = await sendSms(sandbox, receiver, "+15125550147");
    sandbox.setMessageStatus(created.json.sid as string, "failed", 30003);
    await sandbox.whenIdle();
    expect((await api(sandbox, `/Messages/${created.json.sid}.json`)).json).toMatchObject({
      status: "failed",
      error_code: 30003,
    });
    expect(statusesFor(receiver, created.json.sid)).toEqual([]);
  });

  it("numbers ending in 0: accepts WhatsApp, then reports it failed with 63024; delivers SMS", async () => {
    const { sandbox, receiver } = await setup();
    const whatsapp = await sendWhatsApp(sandbox, receiver, "+15125550110");
    expect(whatsapp).toMatchObject({ status: 201, json: { status: "queued" } });
    const sms = await sendSms(sandbox, receiver, "+15125550110");
    await sandbox.whenIdle();
    expect(statusesFor(receiver, whatsapp.json.sid)).toEqual([["failed", "63024"]]);
    expect((await api(sandbox, `/Messages/${whatsapp.json.sid}.json`)).json).toMatchObject({
      status: "failed",
      error_code: 63024,
      error_message: "Invalid message recipient",
    });
    expect(statusesFor(receiver, sms.json.sid)).toEqual([
      ["sent", undefined],
      ["delivered", undefined],
    ]);
  });

  it("numbers ending in 9: refuses SMS at once with 21610 (unsubscribed); delivers WhatsApp", async () => {
    const { sandbox, receiver } = await setup();
    expect(await sendSms(sandbox, receiver, "+15125550119")).toEqual({
      status: 400,
      json: {
        code: 21610,
        message: "Attempt to send to unsubscribed recipient",
        more_info: "https://www.twilio.com/docs/errors/21610",
        status: 400,
      },
    });
    const whatsapp = await sendWhatsApp(sandbox, receiver, "+15125550119");
    await sandbox.whenIdle();
    expect(statusesFor(receiver, whatsapp.json.sid).map(([status]) => status)).toEqual(["sent", "delivered", "read"]);
  });

  it("numbers ending in 1: WhatsApp only ever reports sent; SMS is delivered", async () => {
    const { sandbox, receiver } = await setup();
    const whatsapp = await sendWhatsApp(sandbox, receiver, "+15125550111");
    const sms = await sendSms(sandbox, receiver, "+15125550111");
    await sandbox.whenIdle();
    expect(statusesFor(receiver, whatsapp.json.sid)).toEqual([["sent", undefined]]);
    expect(statusesFor(receiver, sms.json.sid)).toEqual([
      ["sent", undefined],
      ["delivered", undefined],
    ]);
    expect((await api(sandbox, `/Messages/${whatsapp.json.sid}.json`)).json.status).toBe("sent");
  });

  it("numbers ending in 2: WhatsApp fails with 63016, SMS is undelivered with 30003", async () => {
    const { sandbox, receiver } = await setup();
    const whatsapp = await sendWhatsApp(sandbox, receiver, "+15125550112");
    const sms = await sendSms(sandbox, receiver, "+15125550112");
    await sandbox.whenIdle();
    expect(statusesFor(receiver, whatsapp.json.sid)).toEqual([["failed", "63016"]]);
    expect(statusesFor(receiver, sms.json.sid)).toEqual([
      ["sent", undefined],
      ["undelivered", "30003"],
    ]);
    expect(receiver.received.every((r) => r.signatureValid)).toBe(true);
    expect((await api(sandbox, `/Messages/${whatsapp.json.sid}.json`)).json).toMatchObject({
      status: "failed",
      error_code: 63016,
    });
    expect((await api(sandbox, `/Messages/${sms.json.sid}.json`)).json).toMatchObject({
      status: "undelivered",
      error_code: 30003,
      error_message: "Unreachable destination handset",
    });
  });

  it("refuses wrong credentials with Twilio's 401 (20003), and unknown messages with 404 (20404)", async () => {
    const { sandbox, receiver } = await setup();
    const wrong = await api(sandbox, "/Messages.json", { To: "+15125550105", Body: "x" }, `${accountSid}:nope`);
    expect(wrong).toEqual({
      status: 401,
      json: {
        code: 20003,
        message: "Authenticate",
        more_info: "https://www.twilio.com/docs/errors/20003",
        status: 401,
      },
    });
    const otherAccount = await fetch(`${sandbox.url}/2010-04-01/Accounts/AC${"0".repeat(32)}/Messages.json`, {
      headers: { Authorization: `Basic ${Buffer.from(`AC${"0".repeat(32)}:${authToken}`).toString("base64")}` },
    });
    expect(otherAccount.status).toBe(401);
    expect(
      (await fetch(`${sandbox.url}/2010-04-01/Accounts/${accountSid}/Messages.json`, { method: "POST" })).status,
    ).toBe(401);
    expect(await api(sandbox, `/Messages/SM${"0".repeat(32)}.json`)).toMatchObject({
      status: 404,
      json: { code: 20404, status: 404 },
    });
    expect(sandbox.sends).toHaveLength(0);
    expect(receiver.received).toHaveLength(0);
  });

  it("refuses malformed sends as Twilio does, and an injected refusal once", async () => {
    const { sandbox, receiver } = await setup();
    const statusCallback = `${receiver.base}/status`;
    const cases: [Record<string, string>, number][] = [
      [{ From: business, Body: "x" }, 21604],
      [{ To: "+15125550105", Body: "x" }, 21603],
      [{ To: "+15125550105", From: business }, 21602],
      [{ To: "5550105", From: business, Body: "x" }, 21211],
      [{ To: "whatsapp:+15125550105", From: business, Body: "x" }, 21910],
      [{ To: "whatsapp:+15125550105", From: `whatsapp:${business}`, ContentSid: "HXnope" }, 21655],
      [
        {
          To: "whatsapp:+15125550105",
          From: `whatsapp:${business}`,
          ContentSid: contentSid,
          ContentVariables: '{"1":""}',
        },
        21656,
      ],
    ];
    for (const [form, code] of cases) {
      expect(await api(sandbox, "/Messages.json", { ...form, StatusCallback: statusCallback })).toMatchObject({
        status: 400,
        json: { code },
      });
    }
    sandbox.refuseNextSend({ httpStatus: 503, code: 20503, message: "Service unavailable" });
    expect(await sendSms(sandbox, receiver, "+15125550105")).toMatchObject({ status: 503, json: { code: 20503 } });
    expect((await sendSms(sandbox, receiver, "+15125550105")).status).toBe(201);
    expect(sandbox.sends.map((s) => s.accepted)).toEqual([...cases.map(() => false), false, true]);
  });

  it("records callback failures instead of throwing: unreachable webhooks", async () => {
    const { sandbox } = await setup();
    const closed = await startReceiver();
    await closed.stop();
    const sms = await api(sandbox, "/Messages.json", {
      To: "+15125550105",
      From: business,
      Body: "x",
      StatusCallback: `${closed.base}/status`,
    });
    await sandbox.whenIdle();
    expect(sandbox.callbacks.filter((c) => c.params.MessageSid === sms.json.sid).map((c) => c.error)).toEqual([
      expect.stringMatching(/no answer/),
      expect.stringMatching(/no answer/),
    ]);
    // The status moved on regardless: Twilio's state does not depend on the webhook.
    expect((await api(sandbox, `/Messages/${sms.json.sid}.json`)).json.status).toBe("delivered");
  });

  it("records a refused status callback with the webhook's answer", async () => {
    const { sandbox, receiver } = await setup(403);
    await sendSms(sandbox, receiver, "+15125550105");
    await sandbox.whenIdle();
    expect(sandbox.callbacks.map((c) => [c.kind, c.responseStatus, c.error])).toEqual([
      ["message-status", 403, "the webhook answered HTTP 403"],
      ["message-status", 403, "the webhook answered HTTP 403"],
    ]);
  });

  it("stop() cancels pending status changes: no callback arrives afterwards", async () => {
    const sandbox = await startTwilioSandbox({
      accountSid,
      authToken,
      timing: { sentAfterMs: 40, deliveredAfterMs: 80 },
    });
    const receiver = await startReceiver();
    cleanups.push(receiver.stop);
    const created = await sendSms(sandbox, receiver, "+15125550105");
    expect(created.status).toBe(201);
    await sandbox.stop();
    await sandbox.whenIdle();
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(receiver.received).toHaveLength(0);
    expect(sandbox.callbacks).toHaveLength(0);
  });
});
