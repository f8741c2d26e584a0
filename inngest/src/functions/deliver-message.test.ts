// The waits deliver-message asks the executor for, as the SDK hands them over: which
// status events end a wait (its `if`, evaluated with CEL as Inngest does) and for how long
// it waits. The sends and database reads before a wait are memoised steps here; the whole
// delivery runs against a database and the Twilio sandbox in apps/api's workflow.test.ts.
import type { Database } from "@callflow/db";
import { createTwilioMessaging, statusCallbackUrls } from "@callflow/providers";
import { InngestTestEngine } from "@inngest/test";
import { describe, expect, it } from "vitest";
import { createInngestClient } from "../client.ts";
import { waitFilterMatches } from "../testing.ts";
import { createDeliverMessage, FIRST_WAIT_SECONDS } from "./deliver-message.ts";

const JOB_ID = "0b6f3c1e-8d52-4b7a-9f3e-2c1d5a7e9b40";
const ORG = "org_wait_filter";
const MESSAGE_ID = "5d8a2f61-3c4b-4e9d-8a7f-1b2c3d4e5f60";
const OTHER_MESSAGE_ID = "9e1d2c3b-4a5f-4678-9abc-def012345678";

// Every step before the wait is memoised, so nothing here may reach a database or Twilio.
const noDatabase = new Proxy({} as Database, {
  get: (_, property) => {
    throw new Error(`the wait tests read no database (asked for ${String(property)})`);
  },
});

const job = (channels: ("whatsapp" | "sms")[], fallbackWindowSeconds = 300) => ({
  id: JOB_ID,
  organizationId: ORG,
  status: "sending",
  channels,
  to: "+15125550147",
  from: { whatsapp: "+15125550100", sms: "+15125550100" },
  contactId: null,
  whatsappContentSid: `HX${"a".repeat(32)}`,
  whatsappVariables: { "1": "Northside Plumbing" },
  smsBody: "Northside Plumbing missed your call.",
  fallbackWindowSeconds,
  usagePeriodStart: null,
});

/** The run for one channel, as call-completed (or the previous channel's run) requests it. */
const requestFor = (channel: "whatsapp" | "sms") => ({
  name: "message/delivery.requested",
  id: `${JOB_ID}:${channel}`,
  data: { jobId: JOB_ID, organizationId: ORG, channel, throttleKey: `${channel}:+15125550100:0` },
});
const trigger = requestFor("whatsapp");

/** The WaitForEvent op the SDK returns for the first wait of a job on `channels`. */
async function firstWait(channels: ("whatsapp" | "sms")[], fallbackWindowSeconds?: number) {
  const inngest = createInngestClient({ isDev: true });
  const fn = createDeliverMessage(inngest, {
    database: noDatabase,
    messaging: createTwilioMessaging({
      accountSid: `AC${"0".repeat(32)}`,
      authToken: "unused",
      baseUrl: "http://127.0.0.1:9",
    }),
    statusCallbacks: statusCallbackUrls({ publicUrl: "https://hooks.callflow.test", authToken: "unused" }),
  });
  const channel = channels[0] as "whatsapp" | "sms";
  const { step } = await new InngestTestEngine({ function: fn }).executeStep(`wait-for-${channel}-outcome`, {
    events: [requestFor(channel)],
    steps: [
      { id: "load-job", handler: () => job(channels, fallbackWindowSeconds) },
      { id: `send-${channel}`, handler: () => ({ outcome: "accepted", messageId: MESSAGE_ID }) },
      // No receipt yet when the wait begins.
      { id: `check-${channel}-before-waiting`, handler: () => ({ status: "sent", errorCode: null }) },
    ],
  });
  return step as unknown as { op: string; name: string; displayName: string; opts: { timeout: string; if: string } };
}

/** A status event as the message status webhook sends it. */
const statusEvent = (status: string, messageId = MESSAGE_ID) => ({
  name: "message/status.updated",
  id: `SM${"1".repeat(32)}:${status}`,
  data: {
    sid: `SM${"1".repeat(32)}`,
    messageId,
    jobId: JOB_ID,
    organizationId: ORG,
    status,
    errorCode: status === "failed" ? 63016 : null,
  },
});

describe("deliver-message's waits", () => {
  it("waits a few seconds for message/status.updated before a second look (then the window's rest: workflow.test.ts)", async () => {
    const wait = await firstWait(["whatsapp", "sms"], 120);
    expect(wait).toMatchObject({
      op: "WaitForEvent",
      name: "message/status.updated",
      displayName: "wait-for-whatsapp-outcome",
      opts: { timeout: `${FIRST_WAIT_SECONDS}s` },
    });
    expect(FIRST_WAIT_SECONDS).toBeLessThan(10); // the shortest fallback window the settings allow
  });

  describe.each([["whatsapp"], ["sms"]] as const)("the %s wait's filter", (channel) => {
    it.each([
      ["delivered", true],
      ["read", true],
      ["failed", true],
      ["undelivered", true],
      ["canceled", true],
      ["queued", false],
      ["sending", false],
      ["sent", false],
      ["accepted", false],
      ["receiving", false],
    ])("a %s status of the message sent: %s", async (status, ends) => {
      const wait = await firstWait([channel]);
      expect(waitFilterMatches(wait.opts.if, { event: trigger, async: statusEvent(status) })).toBe(ends);
    });

    it("ignores every status of another message, final ones too", async () => {
      const wait = await firstWait([channel]);
      for (const status of ["delivered", "read", "failed", "undelivered", "sent"])
        expect(waitFilterMatches(wait.opts.if, { event: trigger, async: statusEvent(status, OTHER_MESSAGE_ID) })).toBe(
          false,
        );
    });
  });
});
