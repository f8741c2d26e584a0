// reconcile-deliveries: repairs what status callbacks missed. Twilio may never send a
// callback (lost, our endpoint down past its one retry), and a run may fail for good without
// finishing its job. On a schedule, and on request, across every business: sent messages
// whose outcome is still unknown after a while are asked about at Twilio and the answer is
// applied as a callback is (forward only, recorded as `reconciled`, a waiting delivery told);
// then jobs that nothing moves any more are finished with the reason.
import type { CallflowInngest } from "../client.ts";
import { reconciliationRequested } from "../events.ts";
import {
  defaultReconcileSettings,
  findUnsettledMessages,
  finishStuckJobs,
  type ReconcileRecordsDeps,
  type ReconcileSettings,
  reconcileMessage,
} from "./reconcile-records.ts";

export interface ReconcileDeliveriesDeps extends ReconcileRecordsDeps {
  /** When and how much it reconciles; the defaults are defaultReconcileSettings. */
  reconcile?: Partial<ReconcileSettings>;
}

export function createReconcileDeliveries(inngest: CallflowInngest, deps: ReconcileDeliveriesDeps) {
  const settings: ReconcileSettings = { ...defaultReconcileSettings, ...deps.reconcile };
  return inngest.createFunction(
    {
      id: "reconcile-deliveries",
      triggers: [{ cron: settings.cron }, reconciliationRequested],
      // One at a time: a run that outlasts its tick does not meet the next one's page.
      concurrency: 1,
      retries: 2,
    },
    async ({ step }) => {
      // One page a run, read once: each message is asked about at most once per run.
      const unsettled = await step.run("find-unsettled-messages", () => findUnsettledMessages(deps, settings));
      const counts = { asked: unsettled.length, moved: 0, unchanged: 0, fetchFailed: 0 };
      for (const message of unsettled) {
        const result = await step.run(`ask-twilio-${message.id}`, () => reconcileMessage(deps, settings, message));
        if (result.outcome === "fetch_failed") counts.fetchFailed++;
        else counts[result.outcome]++;
      }
      const finished = await step.run("finish-stuck-jobs", () => finishStuckJobs(deps, settings));
      return { ...counts, jobsFinished: finished.length };
    },
  );
}
