// The Twilio webhooks' form schemas over any form: a parse is a value or issues that
// describeIssues turns into one line; nothing throws, whatever the fields hold.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { describeIssues } from "./twilio-form.ts";
import { inboundMessageSchema } from "./twilio-inbound.ts";
import { messageStatusCallbackSchema } from "./twilio-message-status.ts";
import type { TwilioForm } from "./twilio-signature.ts";
import { voiceStatusCallbackSchema } from "./twilio-voice.ts";

const FIELDS = [
  "CallSid",
  "CallStatus",
  "From",
  "To",
  "CallDuration",
  "AnsweredBy",
  "Timestamp",
  "Direction",
  "MessageSid",
  "MessageStatus",
  "ErrorCode",
  "ErrorMessage",
  "Body",
  "__proto__",
  "constructor",
];
const value = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.constantFrom(
    "",
    "completed",
    "no-answer",
    "delivered",
    "63024",
    `CA${"a".repeat(32)}`,
    `SM${"b".repeat(32)}`,
    "+15125550147",
    "whatsapp:+15125550147",
    "Tue, 01 Dec 2026 10:00:00 +0000",
  ),
);
const form = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 12 })),
      fc.oneof(value, fc.array(value, { minLength: 2, maxLength: 3 })),
    ),
    { maxLength: 10 },
  )
  .map((entries) => {
    const result: TwilioForm = Object.create(null);
    for (const [key, field] of entries) result[key] = field;
    return result;
  });

describe("Twilio form schemas, properties", () => {
  it.each([
    ["voice status callback", voiceStatusCallbackSchema],
    ["message status callback", messageStatusCallbackSchema],
    ["inbound message", inboundMessageSchema],
  ] as const)("%s: any form parses or is explained in one line", (_name, schema) => {
    fc.assert(
      fc.property(form, (fields) => {
        const parsed = schema.safeParse(fields);
        if (!parsed.success) {
          const explanation = describeIssues(parsed.error, fields);
          expect(explanation.length).toBeGreaterThan(0);
          expect(explanation).not.toContain("\n");
        }
      }),
      { numRuns: 500 },
    );
  });
});
