// A message job's statuses (message_jobs.status): the contract between the functions that
// write them, the dashboard that shows them and the statistics that count them.

export const jobStatuses = ["pending", "scheduled", "sending", "delivered", "failed", "skipped", "canceled"] as const;

export type JobStatus = (typeof jobStatuses)[number];

/** Nothing changes a job in these: delivered or failed on its channels, skipped when decided, canceled by an opt-out. */
export const finalJobStatuses: readonly JobStatus[] = ["delivered", "failed", "skipped", "canceled"];

export const isFinalJobStatus = (status: string): boolean => (finalJobStatuses as readonly string[]).includes(status);
