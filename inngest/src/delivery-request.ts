// The request for one channel of a job's delivery, paced by its sender: call-completed asks
// for the first channel, deliver-message for the next when one did not deliver.
import { type Channel, deliveryThrottleKey, type SenderRates } from "@callflow/domain";
import { messageDeliveryRequested } from "./events.ts";

export interface DeliverySend {
  jobId: string;
  organizationId: string;
  channel: Channel;
  /** The sender the channel sends from (E.164): its pace is the throttle's. */
  from: string;
}

export function deliveryRequestOf(send: DeliverySend, senderRates?: Partial<SenderRates>) {
  return messageDeliveryRequested.create(
    {
      jobId: send.jobId,
      organizationId: send.organizationId,
      channel: send.channel,
      throttleKey: deliveryThrottleKey(send, senderRates),
    },
    { id: `${send.jobId}:${send.channel}` },
  );
}
