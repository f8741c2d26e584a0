// The outcome the voice webhook lets the database pick by threshold is settleCallOutcome's,
// at every threshold an org may have, on generated facts.
import {
  answeredByValues,
  type CallFacts,
  callStatuses,
  dialCallStatuses,
  settleCallOutcome,
  voiceFlows,
} from "@callflow/domain";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ANSWERED_MIN_SECONDS, outcomePieces } from "./twilio-voice-outcome-pieces.ts";

const seconds = fc.option(fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 100_000 })), {
  nil: null,
});
const facts: fc.Arbitrary<CallFacts> = fc.record({
  callStatus: fc.constantFrom(...callStatuses),
  durationSeconds: seconds,
  answeredBy: fc.option(fc.constantFrom(...answeredByValues, "something_else"), { nil: null }),
  flow: fc.option(fc.constantFrom(...voiceFlows), { nil: null }),
  dialStatus: fc.option(fc.constantFrom(...dialCallStatuses), { nil: null }),
  dialDurationSeconds: seconds,
  voicemailOffered: fc.boolean(),
  recordingDurationSeconds: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
});

/** What the database does with the pieces: the first whose upTo is at least the threshold. */
const picked = (pieces: ReturnType<typeof outcomePieces>, threshold: number) => {
  const piece = pieces.find((candidate) => threshold <= candidate.upTo);
  return piece?.outcome ? { outcome: piece.outcome, source: piece.source } : null;
};

describe("outcomePieces", () => {
  it("picks settleCallOutcome's answer at every threshold from 0 to 600", () => {
    expect(ANSWERED_MIN_SECONDS).toEqual({ min: 0, max: 600 });
    fc.assert(
      fc.property(facts, (generated) => {
        const pieces = outcomePieces(generated);
        const disagreements = [];
        for (let threshold = ANSWERED_MIN_SECONDS.min; threshold <= ANSWERED_MIN_SECONDS.max; threshold++) {
          const expected = settleCallOutcome(generated, { answeredMinSeconds: threshold });
          const got = picked(pieces, threshold);
          if (got?.outcome !== expected?.outcome || got?.source !== expected?.source) disagreements.push(threshold);
        }
        expect(disagreements).toEqual([]);
        // Ascending, covering the whole range, neighbours differing.
        expect(pieces.map((piece) => piece.upTo)).toEqual([...pieces.map((piece) => piece.upTo)].sort((a, b) => a - b));
        expect(pieces.at(-1)?.upTo).toBe(ANSWERED_MIN_SECONDS.max);
      }),
      { numRuns: 2_000 },
    );
  });

  it("sends one piece for a report whose outcome no threshold changes, two for one it does", () => {
    const base = { flow: null, dialStatus: null, voicemailOffered: false, recordingDurationSeconds: null } as const;
    expect(outcomePieces({ ...base, callStatus: "no-answer" })).toEqual([
      { upTo: 600, outcome: "missed", source: "status" },
    ]);
    expect(outcomePieces({ ...base, callStatus: "completed", durationSeconds: 42 })).toEqual([
      { upTo: 42, outcome: "answered", source: "status" },
      { upTo: 600, outcome: "missed", source: "status" },
    ]);
    expect(outcomePieces({ ...base, callStatus: "ringing" })).toEqual([{ upTo: 600, outcome: null, source: null }]);
  });
});
