import { isSandboxAccountNumber, startTwilioSandbox } from "@callflow/devstack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderRequestError } from "./messaging-provider.ts";
import { createTwilioNumbers } from "./twilio-numbers.ts";

const accountSid = `AC${"a1".repeat(16)}`;
const authToken = "numbers-test-token";

describe("Twilio numbers adapter, against the sandbox over HTTP", () => {
  let sandbox: Awaited<ReturnType<typeof startTwilioSandbox>>;
  beforeAll(async () => {
    sandbox = await startTwilioSandbox({ accountSid, authToken });
  });
  afterAll(() => sandbox?.stop());

  it("finds a number the account owns, with its PN sid", async () => {
    expect(isSandboxAccountNumber("+15125550142")).toBe(true);
    const owned = await createTwilioNumbers({ accountSid, authToken, baseUrl: sandbox.url }).findOwned("+15125550142");
    expect(owned).toEqual({ sid: expect.stringMatching(/^PN[0-9a-f]{32}$/), e164: "+15125550142" });
  });

  it("finds nothing for a number the account does not own", async () => {
    expect(isSandboxAccountNumber("+15125550242")).toBe(false);
    const numbers = createTwilioNumbers({ accountSid, authToken, baseUrl: sandbox.url });
    expect(await numbers.findOwned("+15125550242")).toBeNull();
    expect(await numbers.findOwned("+442071838750")).toBeNull();
  });

  it("reports bad credentials and an unreachable Twilio as ProviderRequestError", async () => {
    const wrong = createTwilioNumbers({ accountSid, authToken: "wrong", baseUrl: sandbox.url });
    await expect(wrong.findOwned("+15125550142")).rejects.toMatchObject({ code: 20003, kind: "permanent" });
    const down = createTwilioNumbers({ accountSid, authToken, baseUrl: "http://127.0.0.1:9" });
    await expect(down.findOwned("+15125550142")).rejects.toBeInstanceOf(ProviderRequestError);
  });
});
