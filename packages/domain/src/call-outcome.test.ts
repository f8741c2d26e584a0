import { describe, expect, it } from "vitest";
import { type CallOutcome, type CallReport, callOutcome, callStatusSchema } from "./call-outcome.ts";

describe("callOutcome", () => {
  it.each<[string, CallReport, number, CallOutcome | null]>([
    ["queued: not over", { callStatus: "queued" }, 5, null],
    ["ringing: not over", { callStatus: "ringing" }, 5, null],
    ["in progress: not over", { callStatus: "in-progress", durationSeconds: 30, answeredBy: "human" }, 5, null],
    ["busy", { callStatus: "busy", durationSeconds: 0 }, 5, "missed"],
    ["no answer", { callStatus: "no-answer", durationSeconds: 0 }, 5, "missed"],
    ["canceled by the caller while ringing", { callStatus: "canceled" }, 5, "missed"],
    ["failed", { callStatus: "failed" }, 5, "missed"],
    ["completed, a person spoke", { callStatus: "completed", durationSeconds: 42, answeredBy: "human" }, 5, "answered"],
    ["completed, no detection", { callStatus: "completed", durationSeconds: 42 }, 5, "answered"],
    [
      "completed, detection unsure",
      { callStatus: "completed", durationSeconds: 42, answeredBy: "unknown" },
      5,
      "answered",
    ],
    ["exactly the minimum counts as answered", { callStatus: "completed", durationSeconds: 5 }, 5, "answered"],
    [
      "one second short of the minimum",
      { callStatus: "completed", durationSeconds: 4, answeredBy: "human" },
      5,
      "missed",
    ],
    ["hang-up during the greeting", { callStatus: "completed", durationSeconds: 2, answeredBy: null }, 5, "missed"],
    ["no minimum: a 0 s call is answered", { callStatus: "completed", durationSeconds: 0 }, 0, "answered"],
    ["no duration reported", { callStatus: "completed" }, 5, "missed"],
    ["no duration reported, no minimum", { callStatus: "completed", durationSeconds: null }, 0, "answered"],
    [
      "machine at the start",
      { callStatus: "completed", durationSeconds: 30, answeredBy: "machine_start" },
      5,
      "voicemail",
    ],
    ["machine, beep", { callStatus: "completed", durationSeconds: 30, answeredBy: "machine_end_beep" }, 5, "voicemail"],
    [
      "machine, silence",
      { callStatus: "completed", durationSeconds: 30, answeredBy: "machine_end_silence" },
      5,
      "voicemail",
    ],
    [
      "machine, other",
      { callStatus: "completed", durationSeconds: 30, answeredBy: "machine_end_other" },
      5,
      "voicemail",
    ],
    [
      "short call to a machine is still voicemail",
      { callStatus: "completed", durationSeconds: 1, answeredBy: "machine_start" },
      5,
      "voicemail",
    ],
    ["a fax answered", { callStatus: "completed", durationSeconds: 30, answeredBy: "fax" }, 5, "missed"],
    [
      "an answeredBy we do not know",
      { callStatus: "completed", durationSeconds: 30, answeredBy: "robot" },
      5,
      "answered",
    ],
    [
      "machine detection on a busy call changes nothing",
      { callStatus: "busy", answeredBy: "machine_start" },
      5,
      "missed",
    ],
  ])("%s", (_name, report, answeredMinSeconds, expected) => {
    expect(callOutcome(report, { answeredMinSeconds })).toBe(expected);
  });
});

describe("callStatusSchema", () => {
  it.each([
    ["completed", true],
    ["no-answer", true],
    ["in-progress", true],
    ["no_answer", false],
    ["answered", false],
  ])("%j → %s", (input, success) => {
    expect(callStatusSchema.safeParse(input).success).toBe(success);
  });

  it("names the unknown status", () => {
    expect(callStatusSchema.safeParse("done").error?.issues[0]?.message).toMatch(/Unknown call status "done"/);
  });
});
