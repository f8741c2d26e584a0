// What a callback's report alone settles, for every answered threshold an org may have: the
// voice webhook does not know the org's answered_min_seconds before its one statement, so it
// sends the outcome for each range of it and the database picks the org's (record_call_report).
// The rule stays settleCallOutcome's: this only evaluates it, once per range.
import {
  type CallFacts,
  type CallOutcome,
  type OutcomeSource,
  settingsSchema,
  settleCallOutcome,
} from "@callflow/domain";

/** Thresholds up to `upTo` (from the previous piece's upTo + 1) settle as this; null: not settled. */
export interface OutcomePiece {
  upTo: number;
  outcome: CallOutcome | null;
  source: OutcomeSource | null;
}

const threshold = settingsSchema.shape.answered_min_seconds.unwrap();
/** The range organizations.answered_min_seconds may take (its check constraint, the settings' schema). */
export const ANSWERED_MIN_SECONDS = { min: threshold.minValue ?? 0, max: threshold.maxValue ?? 600 };

/**
 * settleCallOutcome's answer for each threshold in ANSWERED_MIN_SECONDS, as ascending pieces.
 * The threshold is compared with the facts' durations only ("lasted at least"), so the answer
 * can change only just above a duration (or 0, a missing one): it is evaluated once per range
 * between those points. twilio-voice-outcome-pieces.property.test.ts checks this against
 * settleCallOutcome at every threshold on generated facts.
 */
export function outcomePieces(facts: CallFacts): OutcomePiece[] {
  const { min, max } = ANSWERED_MIN_SECONDS;
  const starts = new Set([min]);
  for (const duration of [0, facts.durationSeconds, facts.dialDurationSeconds]) {
    if (duration != null && duration + 1 > min && duration + 1 <= max) starts.add(duration + 1);
  }
  const ascending = [...starts].sort((a, b) => a - b);
  const pieces: OutcomePiece[] = [];
  ascending.forEach((start, index) => {
    const settled = settleCallOutcome(facts, { answeredMinSeconds: start });
    const piece = {
      upTo: (ascending[index + 1] ?? max + 1) - 1,
      outcome: settled?.outcome ?? null,
      source: settled?.source ?? null,
    };
    const previous = pieces.at(-1);
    if (previous && previous.outcome === piece.outcome && previous.source === piece.source) previous.upTo = piece.upTo;
    else pieces.push(piece);
  });
  return pieces;
}
