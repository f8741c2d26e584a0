import { isSandboxAccountNumber, startTwilioSandbox } from "@callflow/devstack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderRequestError } from "./messaging-provider.ts";
import { createTwilioNumbers, voiceWebhookUrls } from "./twilio-numbers.ts";

const accountSid = `AC${"a1".repeat(16)}`;
const authToken = "numbers-test-token";
const publicUrl = "https://callflow.example.com/";

describe("Twilio numbers adapter, against the sandbox over HTTP", () => {
  let sandbox: Awaited<ReturnType<typeof startTwilioSandbox>>;
  const numbers = () => createTwilioNumbers({ accountSid, authToken, baseUrl: sandbox.url, publicUrl });
  beforeAll(async () => {
    sandbox = await startTwilioSandbox({ accountSid, authToken });
  });
  afterAll(() => sandbox?.stop());

  it("finds a number the account owns, with its PN sid", async () => {
    expect(isSandboxAccountNumber("+15125550142")).toBe(true);
    const owned = await numbers().findOwned("+15125550142");
    expect(owned).toEqual({ sid: expect.stringMatching(/^PN[0-9a-f]{32}$/), e164: "+15125550142" });
  });

  it("finds nothing for a number the account does not own", async () => {
    expect(isSandboxAccountNumber("+15125550242")).toBe(false);
    expect(await numbers().findOwned("+15125550242")).toBeNull();
    expect(await numbers().findOwned("+442071838750")).toBeNull();
  });

  it("connects a number: its Voice URL and status callback point at CallFlow's voice webhooks; disconnecting clears them", async () => {
    expect(voiceWebhookUrls(publicUrl)).toEqual({
      incoming: "https://callflow.example.com/webhooks/twilio/voice/incoming",
      dial: "https://callflow.example.com/webhooks/twilio/voice/dial",
      recording: "https://callflow.example.com/webhooks/twilio/voice/recording",
      status: "https://callflow.example.com/webhooks/twilio/voice",
    });
    const owned = await numbers().findOwned("+15125550143");
    if (!owned) throw new Error("the sandbox owns +15125550143");
    expect(sandbox.number("+15125550143")).toMatchObject({ voiceUrl: "", statusCallback: "" });
    await numbers().connect(owned);
    expect(sandbox.number("+15125550143")).toEqual({
      sid: owned.sid,
      e164: "+15125550143",
      voiceUrl: "https://callflow.example.com/webhooks/twilio/voice/incoming",
      voiceMethod: "POST",
      statusCallback: "https://callflow.example.com/webhooks/twilio/voice",
      statusCallbackMethod: "POST",
    });
    await numbers().disconnect(owned);
    expect(sandbox.number("+15125550143")).toMatchObject({ voiceUrl: "", statusCallback: "" });
  });

  it("reports a number Twilio does not know, bad credentials and an unreachable Twilio as ProviderRequestError", async () => {
    const missing = numbers().connect({ sid: `PN${"0".repeat(32)}`, e164: "+15125550144" });
    await expect(missing).rejects.toMatchObject({ code: 20404, kind: "permanent" });
    const wrong = createTwilioNumbers({ accountSid, authToken: "wrong", baseUrl: sandbox.url, publicUrl });
    await expect(wrong.findOwned("+15125550142")).rejects.toMatchObject({ code: 20003, kind: "permanent" });
    const down = createTwilioNumbers({ accountSid, authToken, baseUrl: "http://127.0.0.1:9", publicUrl });
    await expect(down.findOwned("+15125550142")).rejects.toBeInstanceOf(ProviderRequestError);
    await expect(down.disconnect({ sid: `PN${"1".repeat(32)}`, e164: "+15125550142" })).rejects.toBeInstanceOf(
      ProviderRequestError,
    );
  });
});
