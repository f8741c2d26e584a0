// Every event CallFlow sends or waits for, declared once with its schema.
import { eventType } from "inngest";
import { z } from "zod";

/** A call ended with a final status; sent by the voice webhook with the CallSid as event id. */
export const callCompleted = eventType("call/completed", {
  schema: z.object({ callSid: z.string(), organizationId: z.string(), callLogId: z.uuid() }),
});

/** A call's message job is ready to deliver; its id is the job id. */
export const messageJobCreated = eventType("message/job.created", {
  schema: z.object({ jobId: z.uuid(), organizationId: z.string() }),
});

/** A provider status callback was stored; `status` is the message's status after it. */
export const messageStatusUpdated = eventType("message/status.updated", {
  schema: z.object({
    sid: z.string(),
    messageId: z.uuid(),
    jobId: z.uuid(),
    organizationId: z.string(),
    status: z.string(),
    errorCode: z.number().nullable(),
  }),
});
