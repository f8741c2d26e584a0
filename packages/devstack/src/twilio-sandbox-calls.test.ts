import { existsSync, mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import twilio from "twilio";
import { afterEach, describe, expect, it } from "vitest";
import {
  readTwilioSandboxAddress,
  startTwilioSandbox,
  type TwilioSandbox,
  twilioSandboxAddressFile,
} from "./twilio-sandbox.ts";

const accountSid = `AC${"c3".repeat(16)}`;
const authToken = "sandbox-calls-token";
const business = "+15125550100";
const owner = "+15125550199";
const caller = "+15125550147";

interface Received {
  path: string;
  params: Record<string, string>;
  signatureValid: boolean;
}

type Answer = { status?: number; type?: string; body: string };

/** A voice app as CallFlow's: answers TwiML per path, checks every signature with the SDK. */
async function startVoiceApp(answers: Record<string, Answer | ((params: Record<string, string>) => Answer)>) {
  const received: Received[] = [];
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const params = Object.fromEntries(new URLSearchParams(body));
    const path = req.url ?? "";
    const signature = String(req.headers["x-twilio-signature"] ?? "");
    received.push({ path, params, signatureValid: twilio.validateRequest(authToken, signature, base + path, params) });
    const found = answers[path];
    const answer = typeof found === "function" ? found(params) : (found ?? { body: "" });
    res.writeHead(answer.status ?? 200, { "content-type": answer.type ?? "text/xml" }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { base, received };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function sandboxWith(options: { addressFile?: string } = {}) {
  const sandbox = await startTwilioSandbox({ accountSid, authToken, ...options });
  cleanups.push(sandbox.stop);
  return sandbox;
}

/** Points the number at the app through the REST API, as CallFlow's SDK call does. */
async function configure(sandbox: TwilioSandbox, number: string, form: Record<string, string>) {
  const credentials = Buffer.from(`${accountSid}:${authToken}`).toString("base64");
  const headers = { Authorization: `Basic ${credentials}` };
  const listed = await fetch(
    `${sandbox.url}/2010-04-01/Accounts/${accountSid}/IncomingPhoneNumbers.json?PhoneNumber=${encodeURIComponent(number)}`,
    { headers },
  ).then((response) => response.json() as Promise<{ incoming_phone_numbers: Array<{ sid: string }> }>);
  const sid = listed.incoming_phone_numbers[0]?.sid;
  const response = await fetch(`${sandbox.url}/2010-04-01/Accounts/${accountSid}/IncomingPhoneNumbers/${sid}.json`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const twiml = (build: (response: twilio.twiml.VoiceResponse) => void): Answer => {
  const response = new twilio.twiml.VoiceResponse();
  build(response);
  return { body: response.toString() };
};

/** CallFlow's flow: forward with a ring timeout, then a greeting and a recording when nobody answered. */
function callflowAnswers(base: string) {
  return {
    "/incoming": twiml((r) => r.dial({ action: `${base}/dial`, method: "POST", timeout: 12 }).number(owner)),
    "/dial": (params: Record<string, string>) =>
      params.DialCallStatus === "completed"
        ? twiml((r) => r.hangup())
        : twiml((r) => {
            r.say({ language: "en-US" }, "Please leave a message after the beep.");
            r.record({
              action: `${base}/recording`,
              method: "POST",
              timeout: 5,
              maxLength: 120,
              recordingStatusCallback: `${base}/recording`,
              recordingStatusCallbackEvent: ["completed", "absent"],
            });
            r.hangup();
          }),
    "/recording": twiml((r) => r.hangup()),
    "/status": { body: "" },
  };
}

async function callflowSetup() {
  const sandbox = await sandboxWith();
  const answers: Record<string, Answer | ((params: Record<string, string>) => Answer)> = {};
  const app = await startVoiceApp(answers);
  Object.assign(answers, callflowAnswers(app.base));
  await configure(sandbox, business, {
    VoiceUrl: `${app.base}/incoming`,
    VoiceMethod: "POST",
    StatusCallback: `${app.base}/status`,
    StatusCallbackMethod: "POST",
  });
  return { sandbox, app };
}

const paths = (received: Received[]) => received.map((r) => r.path);

describe("Twilio sandbox: calls run through the number's Voice URL", () => {
  it("keeps each number's voice configuration, set through IncomingPhoneNumbers update", async () => {
    const sandbox = await sandboxWith();
    expect(sandbox.number(business)).toMatchObject({ voiceUrl: "", statusCallback: "", voiceMethod: "POST" });
    const updated = await configure(sandbox, business, {
      VoiceUrl: "https://callflow.example/webhooks/twilio/voice/incoming",
      VoiceMethod: "post",
      StatusCallback: "https://callflow.example/webhooks/twilio/voice",
    });
    expect(updated).toMatchObject({
      status: 200,
      json: {
        phone_number: business,
        voice_url: "https://callflow.example/webhooks/twilio/voice/incoming",
        voice_method: "POST",
        status_callback: "https://callflow.example/webhooks/twilio/voice",
      },
    });
    const refused = await configure(sandbox, business, { VoiceUrl: "not a url", StatusCallback: "" });
    expect(refused).toMatchObject({ status: 400, json: { code: 21502 } });
    expect(await configure(sandbox, business, { VoiceMethod: "PUT" })).toMatchObject({ status: 400 });
    // A refused update changes nothing.
    expect(sandbox.number(business)?.statusCallback).toBe("https://callflow.example/webhooks/twilio/voice");
    expect(sandbox.number("+15125550299")).toBeNull();
  });

  it("answered: the incoming request, the Dial action with the forwarded leg's result, then the final status", async () => {
    const { sandbox, app } = await callflowSetup();
    const call = await sandbox.placeCall({ from: caller, to: business, scenario: "answered", talkSeconds: 61 });
    expect(call.errors).toEqual([]);
    expect(paths(app.received)).toEqual(["/incoming", "/dial", "/status"]);
    expect(app.received.every((r) => r.signatureValid)).toBe(true);
    const [incoming, dial, status] = app.received.map((r) => r.params);
    const common = {
      AccountSid: accountSid,
      ApiVersion: "2010-04-01",
      CallSid: call.callSid,
      From: caller,
      To: business,
      Caller: caller,
      Called: business,
      Direction: "inbound",
    };
    expect(incoming).toEqual({ ...common, CallStatus: "ringing" });
    expect(dial).toEqual({
      ...common,
      CallStatus: "in-progress",
      DialCallSid: expect.stringMatching(/^CA[0-9a-f]{32}$/),
      DialCallStatus: "completed",
      DialCallDuration: "61",
      DialBridged: "true",
    });
    expect(status).toEqual({
      ...common,
      CallStatus: "completed",
      CallDuration: "65",
      Timestamp: expect.stringMatching(/\+0000$/),
      CallbackSource: "call-progress-events",
      SequenceNumber: "0",
    });
    expect(call).toMatchObject({
      status: "completed",
      dial: { number: owner, status: "completed", durationSeconds: 61 },
      recording: null,
    });
  });

  it.each([
    ["no-answer", "no-answer"],
    ["busy", "busy"],
  ] as const)(
    "%s: the Dial action says %s; at the greeting the caller leaves no message",
    async (scenario, dialStatus) => {
      const { sandbox, app } = await callflowSetup();
      const call = await sandbox.placeCall({ from: caller, to: business, scenario });
      expect(call.errors).toEqual([]);
      expect(app.received[1]?.params).toMatchObject({
        DialCallStatus: dialStatus,
        DialCallDuration: "0",
        DialBridged: "false",
      });
      if (scenario === "no-answer") {
        // Silence after the beep: an empty recording, so no Record action; Hangup runs; "absent" is reported.
        expect(paths(app.received)).toEqual(["/incoming", "/dial", "/status", "/recording"]);
        expect(app.received[3]?.params).toMatchObject({
          CallSid: call.callSid,
          RecordingStatus: "absent",
          RecordingDuration: "0",
          RecordingSid: expect.stringMatching(/^RE[0-9a-f]{32}$/),
        });
        expect(app.received[3]?.params.From).toBeUndefined();
      } else {
        expect(paths(app.received)).toEqual(["/incoming", "/dial", "/status"]);
      }
      expect(call.recording).toBeNull();
    },
  );

  it("voicemail: the Record action with the recording, the final status, then the recording status callback", async () => {
    const { sandbox, app } = await callflowSetup();
    const call = await sandbox.placeCall({ from: caller, to: business, scenario: "voicemail", messageSeconds: 31 });
    expect(call.errors).toEqual([]);
    expect(paths(app.received)).toEqual(["/incoming", "/dial", "/recording", "/status", "/recording"]);
    expect(app.received.every((r) => r.signatureValid)).toBe(true);
    const recording = call.recording;
    expect(recording).toMatchObject({ sid: expect.stringMatching(/^RE[0-9a-f]{32}$/), durationSeconds: 31 });
    expect(app.received[2]?.params).toMatchObject({
      CallSid: call.callSid,
      CallStatus: "completed",
      RecordingSid: recording?.sid,
      RecordingUrl: `${sandbox.url}/2010-04-01/Accounts/${accountSid}/Recordings/${recording?.sid}`,
      RecordingDuration: "31",
      Digits: "hangup",
    });
    expect(app.received[4]?.params).toMatchObject({
      RecordingSid: recording?.sid,
      RecordingStatus: "completed",
      RecordingDuration: "31",
      RecordingSource: "RecordVerb",
    });
    // 12 s of ringing, the greeting, 31 s of message.
    expect(Number(app.received[3]?.params.CallDuration)).toBeGreaterThan(43);
  });

  it("hang-up-before-beep: the call ends during the greeting; no recording request at all", async () => {
    const { sandbox, app } = await callflowSetup();
    const call = await sandbox.placeCall({ from: caller, to: business, scenario: "hang-up-before-beep" });
    expect(paths(app.received)).toEqual(["/incoming", "/dial", "/status"]);
    expect(call).toMatchObject({ status: "completed", recording: null, errors: [] });
  });

  it("runs a greeting straight from the Voice URL when the TwiML does not dial", async () => {
    const sandbox = await sandboxWith();
    const answers: Record<string, Answer> = {};
    const app = await startVoiceApp(answers);
    answers["/incoming"] = twiml((r) => {
      r.say("Leave a message.");
      r.record({ action: "/recording", recordingStatusCallback: "/recording" });
      r.hangup();
    });
    await configure(sandbox, business, { VoiceUrl: `${app.base}/incoming`, StatusCallback: `${app.base}/status` });
    const call = await sandbox.placeCall({ from: caller, to: business, scenario: "voicemail" });
    // Relative URLs are resolved against the document's URL, as Twilio does.
    expect(paths(app.received)).toEqual(["/incoming", "/recording", "/status", "/recording"]);
    expect(call.dial).toBeNull();
    expect(call.recording?.durationSeconds).toBe(23);
  });

  it.each<[string, Answer, number, RegExp]>([
    ["a verb the sandbox does not run", twiml((r) => r.reject()), 12200, /<Reject> is not a verb the sandbox runs/],
    ["a Gather", twiml((r) => r.gather().say("Press 1")), 12200, /<Gather> is not a verb/],
    ["a document that is not XML", { body: "<Response><Say>hi</Response>" }, 12100, /does not close <Say>/],
    ["a DOCTYPE", { body: '<!DOCTYPE x [<!ENTITY a "b">]><Response/>' }, 12100, /DOCTYPE/],
    ["another root", { body: "<Document/>" }, 12200, /not <Response>/],
    [
      "a Dial of two numbers",
      { body: "<Response><Dial><Number>+15125550199</Number><Number>+15125550198</Number></Dial></Response>" },
      12200,
      /exactly one <Number>/,
    ],
    [
      "a Dial with a GET action",
      { body: '<Response><Dial action="/x" method="GET"><Number>+15125550199</Number></Dial></Response>' },
      12200,
      /POST only/,
    ],
    [
      "a ring timeout that is no number",
      { body: '<Response><Dial timeout="soon"><Number>+15125550199</Number></Dial></Response>' },
      12200,
      /timeout="soon"/,
    ],
    [
      "JSON instead of TwiML",
      { type: "application/json", body: "{}" },
      12300,
      /Invalid Content-Type: application\/json/,
    ],
    ["a refusal", { status: 403, body: "" }, 11200, /answered HTTP 403/],
  ])(
    "reports %s as Twilio's debugger would, ends the call, still posts its final status",
    async (_name, answer, code, message) => {
      const sandbox = await sandboxWith();
      const app = await startVoiceApp({ "/incoming": answer, "/status": { body: "" } });
      await configure(sandbox, business, { VoiceUrl: `${app.base}/incoming`, StatusCallback: `${app.base}/status` });
      const call = await sandbox.placeCall({ from: caller, to: business, scenario: "answered" });
      expect(call.errors).toEqual([{ code, message: expect.stringMatching(message), url: `${app.base}/incoming` }]);
      expect(paths(app.received)).toEqual(["/incoming", "/status"]);
      expect(app.received[1]?.params.CallStatus).toBe("completed");
    },
  );

  it("fails a call to a number with no Voice URL, and refuses calls it cannot place", async () => {
    const sandbox = await sandboxWith();
    const app = await startVoiceApp({ "/status": { body: "" } });
    await configure(sandbox, business, { StatusCallback: `${app.base}/status` });
    const call = await sandbox.placeCall({ from: caller, to: business, scenario: "answered" });
    expect(call).toMatchObject({ status: "failed", errors: [{ code: 11200 }] });
    expect(app.received.map((r) => [r.path, r.params.CallStatus])).toEqual([["/status", "failed"]]);
    await expect(sandbox.placeCall({ from: caller, to: "+15125550299", scenario: "answered" })).rejects.toThrow(
      /not a number of account/,
    );
    await expect(sandbox.placeCall({ from: "anonymous", to: business, scenario: "answered" })).rejects.toThrow(
      /not E\.164/,
    );
  });

  it("redelivers a request exactly, as Twilio's retry does", async () => {
    const { sandbox, app } = await callflowSetup();
    const call = await sandbox.placeCall({ from: caller, to: business, scenario: "busy" });
    const dial = call.callbacks.find((callback) => callback.kind === "dial-action");
    if (!dial) throw new Error("the call has a Dial action");
    const again = await sandbox.redeliver(dial);
    expect(again).toMatchObject({ kind: "dial-action", signature: dial.signature, responseStatus: 200 });
    expect(app.received.at(-1)).toEqual({ ...app.received[1], signatureValid: true });
  });

  it("places calls for tools over HTTP (POST /sandbox/calls) and says where it runs in its address file", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "twilio-sandbox-"));
    const addressFile = twilioSandboxAddressFile(dataDir);
    const sandbox = await startTwilioSandbox({ accountSid, authToken, addressFile });
    expect(readTwilioSandboxAddress(addressFile)).toEqual({ url: sandbox.url, accountSid, pid: process.pid });
    const answers: Record<string, Answer | ((params: Record<string, string>) => Answer)> = {};
    const app = await startVoiceApp(answers);
    Object.assign(answers, callflowAnswers(app.base));
    await configure(sandbox, business, { VoiceUrl: `${app.base}/incoming`, StatusCallback: `${app.base}/status` });

    const place = (form: Record<string, string>, credentials = `${accountSid}:${authToken}`) =>
      fetch(`${sandbox.url}/sandbox/calls`, {
        method: "POST",
        headers: {
          Authorization: `Basic ${Buffer.from(credentials).toString("base64")}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams(form),
      });
    const placed = await place({ From: caller, To: business, Scenario: "voicemail", MessageSeconds: "9" });
    expect(placed.status).toBe(200);
    expect(await placed.json()).toMatchObject({ scenario: "voicemail", recording: { durationSeconds: 9 }, errors: [] });
    expect((await place({ From: caller, To: business, Scenario: "answered" }, `${accountSid}:wrong`)).status).toBe(401);
    const unknown = await place({ From: caller, To: business, Scenario: "ghost" });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { message: string }).message).toMatch(/not one of answered, no-answer, busy/);
    expect((await place({ From: caller, To: "+15125550299", Scenario: "busy" })).status).toBe(404);

    await sandbox.stop();
    expect(existsSync(addressFile)).toBe(false);
    expect(readTwilioSandboxAddress(addressFile)).toBeNull();
  });
});
