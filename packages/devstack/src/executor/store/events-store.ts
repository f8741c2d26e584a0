// Received events, each stored once per internal id (a send the SDK retries with its seed
// has the same ids).
import { sql } from "kysely";
import type { Db } from "./schema.ts";

export async function recordEvent(
  db: Db,
  event: { internalId: string; id: string; name: string; payloadJson: string },
  now: Date,
): Promise<void> {
  await sql`
    insert into devstack.inngest_events (internal_id, id, name, payload, received_at)
    values (${event.internalId}, ${event.id}, ${event.name}, ${event.payloadJson}::jsonb, ${now})
    on conflict (internal_id) do nothing`.execute(db);
}
