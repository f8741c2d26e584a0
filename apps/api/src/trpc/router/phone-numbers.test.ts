// Connecting a number points its calls at CallFlow at Twilio (here the Twilio sandbox, reached
// by the real SDK); removing it clears that; Twilio refusing leaves nothing half done.
import { ORG_A, testLanes } from "@callflow/db/testing";
import { startTwilioSandbox, type TwilioSandbox } from "@callflow/devstack";
import { createTwilioNumbers } from "@callflow/providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failureOf, startTestApi, type TestApi } from "../../test-api.ts";

const ACCOUNT_SID = `AC${"6".repeat(32)}`;
const AUTH_TOKEN = "phone-numbers-test-token";
const PUBLIC_URL = "https://callflow.example.com";

describe.each(testLanes())("phoneNumbers and Twilio's number configuration on %s", (lane) => {
  let sandbox: TwilioSandbox;
  let api: TestApi;
  let admin: ReturnType<TestApi["client"]>;
  beforeAll(async () => {
    sandbox = await startTwilioSandbox({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    api = await startTestApi(lane, {
      phoneNumberDirectory: createTwilioNumbers({
        accountSid: ACCOUNT_SID,
        authToken: AUTH_TOKEN,
        baseUrl: sandbox.url,
        publicUrl: PUBLIC_URL,
      }),
    });
    admin = api.client(api.token({ orgId: ORG_A, role: "admin" }));
  });
  afterAll(async () => {
    await api?.close();
    await sandbox?.stop();
  });

  it("connecting a number sets its Voice URL and status callback; removing it clears them", async () => {
    expect(sandbox.number("+15125550161")).toMatchObject({ voiceUrl: "", statusCallback: "" });
    const added = await admin.phoneNumbers.add.mutate({ e164: "+1 512 555 0161", label: "Shop" });
    expect(sandbox.number("+15125550161")).toMatchObject({
      voiceUrl: `${PUBLIC_URL}/webhooks/twilio/voice/incoming`,
      voiceMethod: "POST",
      statusCallback: `${PUBLIC_URL}/webhooks/twilio/voice`,
      statusCallbackMethod: "POST",
    });
    await admin.phoneNumbers.remove.mutate({ id: added.id });
    expect(sandbox.number("+15125550161")).toMatchObject({ voiceUrl: "", statusCallback: "" });
    expect((await admin.phoneNumbers.list.query()).map((number) => number.e164)).not.toContain("+15125550161");
  });

  it("connects nothing when Twilio cannot be reached, and still removes a number when it cannot clear it", async () => {
    const down = await startTestApi(lane, {
      phoneNumberDirectory: createTwilioNumbers({
        accountSid: ACCOUNT_SID,
        authToken: AUTH_TOKEN,
        baseUrl: "http://127.0.0.1:9",
        publicUrl: PUBLIC_URL,
      }),
    });
    try {
      const client = down.client(down.token({ orgId: ORG_A, role: "admin" }));
      const failed = await failureOf(client.phoneNumbers.add.mutate({ e164: "+15125550162" }));
      expect(failed.code).toBe("BAD_GATEWAY");
      const connected = await client.phoneNumbers.list.query();
      expect(connected.map((number) => number.e164)).toEqual(["+15550100001"]);
      // The fixture's own number: removed here although Twilio cannot be told.
      await client.phoneNumbers.remove.mutate({ id: connected[0]?.id as string });
      expect(await client.phoneNumbers.list.query()).toEqual([]);
    } finally {
      await down.close();
    }
  });
});
