// deliver-message: the worker. One run delivers a prepared job on one channel: the send,
// a wait for its outcome, then the job's final status, or a request for the next channel
// (WhatsApp first, SMS as fallback), which is a run of its own so that every send keeps to
// its sender's pace. No business rules here beyond the caller's consent, asked again
// before each send: those were applied when the job was written.
import {
  type Channel,
  isDeliveredLike,
  isFailure,
  isFinalJobStatus,
  LANE,
  type MessageStatus,
  type SenderRates,
} from "@callflow/domain";
import type { CallflowInngest } from "../client.ts";
import { deliveryRequestOf } from "../delivery-request.ts";
import { messageDeliveryRequested, messageStatusUpdated } from "../events.ts";
import {
  type Attempt,
  channelName,
  type DeliveryRecordsDeps,
  finishJob,
  loadJob,
  readAttempt,
  reasonsOf,
  recordUnsent,
  sendOnce,
} from "./delivery-records.ts";

export interface DeliverMessageDeps extends DeliveryRecordsDeps {
  /** Messages a second per sender, by kind (packages/domain sender-pace.ts has the defaults). */
  senderRates?: Partial<SenderRates>;
}

/** The first wait for a receipt; the fallback window's rest follows a second look at the database. */
export const FIRST_WAIT_SECONDS = 3;

/** A status after which nothing changes the channel's outcome: the wait has nothing to wait for. */
const settled = (status: MessageStatus) => isDeliveredLike(status) || isFailure(status);

export function createDeliverMessage(inngest: CallflowInngest, deps: DeliverMessageDeps) {
  return inngest.createFunction(
    {
      id: "deliver-message",
      triggers: [messageDeliveryRequested],
      // Each send takes a lane of its sender (one message a second; a sender has as many
      // lanes as messages a second it may send). Event ids (<job>:<channel>) make each run once.
      throttle: { key: "event.data.throttleKey", limit: LANE.limit, period: LANE.period },
      retries: 4,
      // No job stays "sending": when retries are exhausted the job fails with the reason.
      onFailure: async ({ event, error }) => {
        const jobId = event.data.event.data.jobId;
        await finishJob(deps, jobId, { status: "failed", channel: null, reason: `delivery stopped: ${error.message}` });
      },
    },
    async ({ event, step }) => {
      const { jobId, channel } = event.data;
      const job = await step.run("load-job", () => loadJob(deps, jobId));
      if (isFinalJobStatus(job.status)) return { status: job.status, reason: "already final" };

      let attempt: Attempt;
      try {
        attempt = await step.run(`send-${channel}`, () => sendOnce(deps, job, channel));
      } catch (error) {
        // Its retries ran out (Twilio down, rate-limited, timeouts): the next channel gets its turn.
        attempt = await step.run(`give-up-${channel}`, () =>
          recordUnsent(deps, job, channel, (error as Error).message),
        );
      }
      if (attempt.outcome === "withheld" || attempt.outcome === "opted_out") {
        const { reason } = attempt;
        return step.run("cancel", () => finishJob(deps, job.id, { status: "canceled", channel: null, reason }));
      }

      const next: Channel | undefined = job.channels[job.channels.indexOf(channel) + 1];
      if (attempt.outcome === "accepted") {
        const { messageId } = attempt;
        // A receipt already stored ends the wait before it begins: Inngest's wait sees only later events.
        let outcome = await step.run(`check-${channel}-before-waiting`, () => readAttempt(deps, messageId));
        // A receipt that lands between that look and the wait's start is missed by the wait. Most
        // come within seconds, so a short first wait and a second look catch those at once, rather
        // than when the window ends; the rest of the window is waited for after.
        const firstWaitSeconds = Math.min(FIRST_WAIT_SECONDS, job.fallbackWindowSeconds);
        const waits = [
          { id: `wait-for-${channel}-outcome`, seconds: firstWaitSeconds, check: `check-${channel}` },
          {
            id: `wait-for-${channel}-outcome-rest`,
            seconds: job.fallbackWindowSeconds - firstWaitSeconds,
            check: `check-${channel}-after-window`,
          },
        ];
        for (const wait of waits) {
          if (settled(outcome.status) || wait.seconds <= 0) break;
          await step.waitForEvent(wait.id, {
            event: messageStatusUpdated,
            timeout: `${wait.seconds}s`,
            if: `async.data.messageId == '${messageId}' && (async.data.status == 'delivered' || async.data.status == 'read' || async.data.status == 'failed' || async.data.status == 'undelivered' || async.data.status == 'canceled')`,
          });
          // The database is the source of truth: a receipt that came as the wait began is there.
          outcome = await step.run(wait.check, () => readAttempt(deps, messageId));
        }
        if (isDeliveredLike(outcome.status)) {
          const reason = `delivered by ${channelName(channel)}`;
          return step.run("finish", () => finishJob(deps, job.id, { status: "delivered", channel, reason }));
        }
        if (!next && channel === "sms" && !isFailure(outcome.status) && outcome.status !== "pending") {
          // Many carriers never confirm SMS delivery: accepted and sent is as far as it goes.
          const reason = `SMS ${outcome.status}; the carrier sent no delivery receipt`;
          return step.run("finish", () => finishJob(deps, job.id, { status: "delivered", channel, reason }));
        }
      }

      if (next) {
        const send = { jobId: job.id, organizationId: job.organizationId, channel: next, from: job.from[next] };
        await step.sendEvent(`request-${next}`, deliveryRequestOf(send, deps.senderRates));
        return { status: "sending", handedOnTo: next };
      }
      return step.run("finish", async () =>
        finishJob(deps, job.id, { status: "failed", channel: null, reason: await reasonsOf(deps, job) }),
      );
    },
  );
}
