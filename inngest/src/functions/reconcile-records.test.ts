// How reconciliation ends a job that nothing moves any more, from its messages as stored.
import { describe, expect, it } from "vitest";
import { type StuckJobMessage, stuckJobOutcome, unsettledStatuses } from "./reconcile-records.ts";

const SID = `SM${"1".repeat(32)}`;
const both = { status: "sending", channels: ["whatsapp", "sms"] as Array<"whatsapp" | "sms"> };
const sent = (channel: "whatsapp" | "sms", status: StuckJobMessage["status"], sid: string | null = SID) => ({
  channel,
  status,
  provider_sid: sid,
});

describe("stuckJobOutcome", () => {
  it.each([
    [[sent("whatsapp", "read")], "delivered", "whatsapp", "delivered by WhatsApp; found by reconciliation"],
    [
      [sent("whatsapp", "failed"), sent("sms", "delivered")],
      "delivered",
      "sms",
      "delivered by SMS; found by reconciliation",
    ],
    [
      [sent("whatsapp", "sent"), sent("sms", "sent")],
      "delivered",
      "sms",
      "SMS sent; the carrier sent no delivery receipt",
    ],
    [[sent("whatsapp", "sent")], "failed", null, "stuck sending for over 120 minutes; finished by reconciliation"],
    [
      [sent("whatsapp", "failed"), sent("sms", "undelivered")],
      "failed",
      null,
      "stuck sending for over 120 minutes; finished by reconciliation",
    ],
    // A claimed SMS that Twilio never accepted was not sent.
    [[sent("sms", "pending", null)], "failed", null, "stuck sending for over 120 minutes; finished by reconciliation"],
    [[], "failed", null, "stuck sending for over 120 minutes; finished by reconciliation"],
  ] as const)("%j ends %s (%s)", (messages, status, channel, reason) => {
    expect(stuckJobOutcome(both, [...messages], 120)).toEqual({ status, channel, reason });
  });
});

describe("unsettledStatuses", () => {
  it("are the statuses of a sent message whose outcome is still unknown", () => {
    expect(unsettledStatuses).toEqual(["accepted", "scheduled", "queued", "sending", "sent"]);
  });
});
