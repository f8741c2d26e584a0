import { describe, expect, it } from "vitest";
import {
  type CallFacts,
  dialAnswered,
  dialCallStatusSchema,
  type SettledOutcome,
  settleCallOutcome,
  unavailableMessage,
  voicemailGreeting,
} from "./voice-flow.ts";

const forwarded: CallFacts = {
  callStatus: "in-progress",
  flow: "forward",
  dialStatus: null,
  voicemailOffered: false,
  recordingDurationSeconds: null,
};

describe("settleCallOutcome", () => {
  it.each<[string, Partial<CallFacts>, SettledOutcome | null]>([
    ["forwarded, Dial still ringing", {}, null],
    [
      "the business picked up",
      { dialStatus: "completed", dialDurationSeconds: 95 },
      { outcome: "answered", source: "dial" },
    ],
    [
      "Dial reports answered",
      { dialStatus: "answered", dialDurationSeconds: 40 },
      { outcome: "answered", source: "dial" },
    ],
    [
      "the business picked up and hung up at once",
      { dialStatus: "completed", dialDurationSeconds: 2 },
      { outcome: "missed", source: "dial" },
    ],
    ["nobody picked up, no voicemail", { dialStatus: "no-answer" }, { outcome: "missed", source: "dial" }],
    ["busy, no voicemail", { dialStatus: "busy" }, { outcome: "missed", source: "dial" }],
    ["the forward failed, no voicemail", { dialStatus: "failed" }, { outcome: "missed", source: "dial" }],
    ["the caller hung up while it rang", { dialStatus: "canceled" }, { outcome: "missed", source: "dial" }],
    ["nobody picked up, greeting playing", { dialStatus: "no-answer", voicemailOffered: true }, null],
    [
      "a message after the beep",
      { dialStatus: "no-answer", voicemailOffered: true, recordingDurationSeconds: 23 },
      { outcome: "voicemail", source: "recording" },
    ],
    [
      "an empty recording (silence after the beep)",
      { dialStatus: "no-answer", voicemailOffered: true, recordingDurationSeconds: 0 },
      { outcome: "missed", source: "recording" },
    ],
    [
      "the call ended during the greeting: hung up before the beep",
      { dialStatus: "busy", voicemailOffered: true, callStatus: "completed", durationSeconds: 25 },
      { outcome: "missed", source: "status" },
    ],
    [
      "the recording status came after the call ended",
      { dialStatus: "no-answer", voicemailOffered: true, callStatus: "completed", recordingDurationSeconds: 12 },
      { outcome: "voicemail", source: "recording" },
    ],
    [
      "the final status came, Dial never reported: not answered by the status alone",
      { callStatus: "completed", durationSeconds: 60 },
      { outcome: "missed", source: "status" },
    ],
    [
      "no forwarding number: greeting, then a message",
      { flow: "voicemail", voicemailOffered: true, recordingDurationSeconds: 8 },
      { outcome: "voicemail", source: "recording" },
    ],
    ["no forwarding number: greeting playing", { flow: "voicemail", voicemailOffered: true }, null],
    [
      "no forwarding number, no voicemail: settled when the TwiML is answered",
      { flow: "hangup", callStatus: "ringing" },
      { outcome: "missed", source: "incoming" },
    ],
    [
      "never through the Voice URL: the status callback alone, as before",
      { flow: null, callStatus: "completed", durationSeconds: 42 },
      { outcome: "answered", source: "status" },
    ],
    [
      "never through the Voice URL: a machine answered",
      { flow: null, callStatus: "completed", durationSeconds: 30, answeredBy: "machine_end_beep" },
      { outcome: "voicemail", source: "status" },
    ],
    ["never through the Voice URL, not over", { flow: null, callStatus: "ringing" }, null],
    [
      "never through the Voice URL: no-answer",
      { flow: null, callStatus: "no-answer" },
      { outcome: "missed", source: "status" },
    ],
  ])("%s", (_name, facts, expected) => {
    expect(settleCallOutcome({ ...forwarded, ...facts }, { answeredMinSeconds: 5 })).toEqual(expected);
  });

  it("applies the business's shortest answered call to the forwarded leg", () => {
    const facts: CallFacts = { ...forwarded, dialStatus: "completed", dialDurationSeconds: 42 };
    expect(settleCallOutcome(facts, { answeredMinSeconds: 60 })?.outcome).toBe("missed");
    expect(settleCallOutcome(facts, { answeredMinSeconds: 42 })?.outcome).toBe("answered");
    expect(dialAnswered("completed", null, 0)).toBe(true);
    expect(dialAnswered("completed", null, 1)).toBe(false);
    expect(dialAnswered("busy", 30, 0)).toBe(false);
  });

  it("gives the same outcome whichever order the facts arrived in", () => {
    // Each fact as one callback adds it; every permutation ends in the same settled outcome.
    const facts: Array<Partial<CallFacts>> = [
      { dialStatus: "no-answer", voicemailOffered: true },
      { recordingDurationSeconds: 17 },
      { callStatus: "completed", durationSeconds: 48 },
    ];
    const orders = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ];
    for (const order of orders) {
      let known: CallFacts = forwarded;
      let first: SettledOutcome | null = null;
      for (const index of order) {
        known = { ...known, ...facts[index] };
        first ??= settleCallOutcome(known, { answeredMinSeconds: 5 });
      }
      // Twilio posts the recording before the call's end; the only order that settles
      // early is the final status before the Dial action, which Twilio sends during the call.
      const settled = settleCallOutcome(known, { answeredMinSeconds: 5 });
      expect(settled).toEqual({ outcome: "voicemail", source: "recording" });
      if (order.indexOf(2) > order.indexOf(1)) expect(first).toEqual(settled);
    }
  });
});

describe("greetings", () => {
  it("speaks the business's own greeting, or ours in its language", () => {
    expect(voicemailGreeting({ businessName: "Rosa's Bakery", language: "es-ES", greeting: null })).toBe(
      "Ha llamado a Rosa's Bakery. Ahora no podemos atenderle. Deje su mensaje después de la señal.",
    );
    expect(voicemailGreeting({ businessName: "Northside Plumbing", language: "en-US", greeting: null })).toMatch(
      /^You have reached Northside Plumbing\. .* after the beep\.$/,
    );
    expect(voicemailGreeting({ businessName: "X", language: "en-GB", greeting: "Leave it at the tone." })).toBe(
      "Leave it at the tone.",
    );
    expect(voicemailGreeting({ businessName: "", language: "en-US", greeting: null })).toMatch(
      /^You have reached us\./,
    );
    expect(unavailableMessage({ businessName: "Rosa's Bakery", language: "es-MX" })).toMatch(/Adiós\.$/);
  });

  it("refuses a dial status Twilio does not send, naming the ones it does", () => {
    expect(dialCallStatusSchema.safeParse("ringing").error?.issues[0]?.message).toBe(
      'Unknown dial status "ringing". Expected one of completed, answered, busy, no-answer, failed, canceled.',
    );
  });
});
