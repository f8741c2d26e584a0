// Replies with the call each one answers (the caller's latest call before the reply) and
// the caller's contact: the shape every list of replies shows.
import type { Tx } from "@callflow/db";

/** Replies with the call each one answers and the caller's contact, newest first. */
export function repliesQuery(tx: Tx) {
  return tx
    .selectFrom("inbound_messages as reply")
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom("call_logs")
          .select(["call_logs.id as call_id", "call_logs.started_at as call_started_at", "call_logs.outcome"])
          .whereRef("call_logs.contact_id", "=", "reply.contact_id")
          .whereRef("call_logs.started_at", "<=", "reply.received_at")
          .orderBy("call_logs.started_at", "desc")
          .limit(1)
          .as("call"),
      (join) => join.onTrue(),
    )
    .leftJoin("contacts", "contacts.id", "reply.contact_id")
    .select([
      "reply.id",
      "reply.channel",
      "reply.from_number",
      "reply.body",
      "reply.received_at",
      "reply.read_at",
      "reply.contact_id",
      "contacts.name as contact_name",
      "call.call_id",
      "call.call_started_at",
      "call.outcome as call_outcome",
    ]);
}
