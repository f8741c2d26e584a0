// Runs this executor drove or created and that are not being driven now (parked on a sleep or
// a wait, throttled, waiting out a retry), kept in memory as they were last written, so that
// the next drive starts from them instead of reading the run and its steps again. The store
// stays the truth: a run that is not here (after a restart, or evicted) is read from it, and
// the one write to a run outside its drive (an event ending its wait) is applied here too.
import type { RunState } from "./run-state.ts";

export interface IdleRuns {
  /** The run's state, removed from memory: its drive now owns it. */
  take(runId: string): RunState | null;
  /** Keeps a run whose drive ended without ending it. */
  keep(run: RunState): void;
  /** An event ended the run's wait (committed): the step has the event, and the run is due now. */
  resume(runId: string, stepId: string, resultJson: string, now: Date): void;
}

/** At most `capacity` runs are kept; the ones kept longest go first. */
export function createIdleRuns(capacity: number): IdleRuns {
  const runs = new Map<string, RunState>();
  return {
    take(runId) {
      const run = runs.get(runId) ?? null;
      runs.delete(runId);
      return run;
    },
    keep(run) {
      runs.delete(run.runId);
      runs.set(run.runId, run);
      if (runs.size > capacity) runs.delete(runs.keys().next().value as string);
    },
    resume(runId, stepId, resultJson, now) {
      const run = runs.get(runId);
      // Kept as waiting on this step, or not kept at all: anything else is not what was stored.
      if (!run) return;
      if (run.status !== "waiting" || run.pendingStep !== stepId) {
        runs.delete(runId);
        return;
      }
      // As resumeParked wrote it (store/runs-store.ts).
      run.steps.set(stepId, resultJson);
      Object.assign(run, { status: "pending", pendingStep: null, attempt: 0, nextAt: now, disableImmediate: false });
    },
  };
}
