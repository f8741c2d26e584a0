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
  const settledBy = (outcome: SettledOutcome["outcome"], source: SettledOutcome["source"]) => ({ outcome, source });
  // Each case as a callback finds it (null: wait for more), then once the final status's grace has passed.
  it.each<[string, Partial<CallFacts>, SettledOutcome | null, SettledOutcome | null]>([
    ["forwarded, Dial still ringing", {}, null, null],
    [
      "the business picked up",
      { dialStatus: "completed", dialDurationSeconds: 95 },
      settledBy("answered", "dial"),
      null,
    ],
    ["Dial reports answered", { dialStatus: "answered", dialDurationSeconds: 40 }, settledBy("answered", "dial"), null],
    [
      "the business picked up and hung up at once",
      { dialStatus: "completed", dialDurationSeconds: 2 },
      settledBy("missed", "dial"),
      null,
    ],
    ["nobody picked up, no voicemail", { dialStatus: "no-answer" }, settledBy("missed", "dial"), null],
    ["busy, no voicemail", { dialStatus: "busy" }, settledBy("missed", "dial"), null],
    ["the forward failed, no voicemail", { dialStatus: "failed" }, settledBy("missed", "dial"), null],
    ["the caller hung up while it rang", { dialStatus: "canceled" }, settledBy("missed", "dial"), null],
    ["nobody picked up, greeting playing", { dialStatus: "no-answer", voicemailOffered: true }, null, null],
    [
      "a message after the beep",
      { dialStatus: "no-answer", voicemailOffered: true, recordingDurationSeconds: 23 },
      settledBy("voicemail", "recording"),
      null,
    ],
    [
      "an empty recording (silence after the beep)",
      { dialStatus: "no-answer", voicemailOffered: true, recordingDurationSeconds: 0 },
      settledBy("missed", "recording"),
      null,
    ],
    [
      "the call ended during the greeting: the Record action may still come; then hung up before the beep",
      { dialStatus: "busy", voicemailOffered: true, callStatus: "completed", durationSeconds: 25 },
      null,
      settledBy("missed", "status"),
    ],
    [
      "the recording status came after the call ended",
      { dialStatus: "no-answer", voicemailOffered: true, callStatus: "completed", recordingDurationSeconds: 12 },
      settledBy("voicemail", "recording"),
      null,
    ],
    [
      "the final status before the Dial action: wait for it; never answered by the status alone",
      { callStatus: "completed", durationSeconds: 60 },
      null,
      settledBy("missed", "status"),
    ],
    [
      "the final status, then the Dial action: the Dial result decides",
      { callStatus: "completed", durationSeconds: 60, dialStatus: "completed", dialDurationSeconds: 50 },
      settledBy("answered", "dial"),
      null,
    ],
    [
      "no forwarding number: greeting, then a message",
      { flow: "voicemail", voicemailOffered: true, recordingDurationSeconds: 8 },
      settledBy("voicemail", "recording"),
      null,
    ],
    ["no forwarding number: greeting playing", { flow: "voicemail", voicemailOffered: true }, null, null],
    [
      "no forwarding number: the call ended at the greeting",
      { flow: "voicemail", voicemailOffered: true, callStatus: "completed" },
      null,
      settledBy("missed", "status"),
    ],
    [
      "no forwarding number, no voicemail: settled when the TwiML is answered",
      { flow: "hangup", callStatus: "ringing" },
      settledBy("missed", "incoming"),
      null,
    ],
    [
      "never through the Voice URL: the status callback alone, at once, as before",
      { flow: null, callStatus: "completed", durationSeconds: 42 },
      settledBy("answered", "status"),
      null,
    ],
    [
      "never through the Voice URL: a machine answered",
      { flow: null, callStatus: "completed", durationSeconds: 30, answeredBy: "machine_end_beep" },
      settledBy("voicemail", "status"),
      null,
    ],
    ["never through the Voice URL, not over", { flow: null, callStatus: "ringing" }, null, null],
    [
      "never through the Voice URL: no-answer",
      { flow: null, callStatus: "no-answer" },
      settledBy("missed", "status"),
      null,
    ],
  ])("%s", (_name, facts, atOnce, overdue) => {
    const known = { ...forwarded, ...facts };
    expect(settleCallOutcome(known, { answeredMinSeconds: 5 })).toEqual(atOnce);
    // Waiting never changes what the facts already settle (null in the last column: the same as at once).
    expect(settleCallOutcome(known, { answeredMinSeconds: 5, overdue: true })).toEqual(overdue ?? atOnce);
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
      // The final status waits for the others: whatever the order, the first outcome settled is the last.
      const settled = settleCallOutcome(known, { answeredMinSeconds: 5 });
      expect(settled).toEqual({ outcome: "voicemail", source: "recording" });
      expect(first).toEqual(settled);
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
