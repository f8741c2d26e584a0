// "What changed since": a version of the org's calls, jobs, messages, replies and subscription that the
// dashboard polls once a second, refetching its lists only when the version moved. Each
// part is one probe of an (organization_id, time desc) index, so an idle poll costs little.
import type { TRPCRouterRecord } from "@trpc/server";
import { sql } from "kysely";
import { orgProcedure } from "../trpc.ts";

export const liveRouter = {
  changes: orgProcedure.query(({ ctx }) =>
    ctx.db(async (tx) => {
      const { rows } = await sql<{
        calls: string | null;
        jobs: string | null;
        messages: string | null;
        replies: string | null;
        subscription: string | null;
        unread: number;
      }>`
        select (select max(updated_at)::text from public.call_logs) as calls,
               (select max(updated_at)::text from public.message_jobs) as jobs,
               (select max(updated_at)::text from public.messages) as messages,
               (select max(received_at)::text from public.inbound_messages) as replies,
               (select max(updated_at)::text from public.subscriptions) as subscription,
               (select count(*)::int from public.inbound_messages where read_at is null) as unread
      `.execute(tx);
      const row = rows[0] ?? {
        calls: null,
        jobs: null,
        messages: null,
        replies: null,
        subscription: null,
        unread: 0,
      };
      return {
        // Opaque to the client: equal versions mean nothing it shows has changed.
        version: [row.calls, row.jobs, row.messages, row.replies, row.subscription, row.unread].join("|"),
        unreadReplies: row.unread,
      };
    }),
  ),
} satisfies TRPCRouterRecord;
