// "What changed since": a version of the org's calls, jobs, messages, replies and subscription that the
// dashboard polls once a second, refetching its lists only when the version moved. Each
// part is one probe of an (organization_id, time desc) index, and app.live_changes keeps
// its plan, so an idle poll costs little.
import type { TRPCRouterRecord } from "@trpc/server";
import { sql } from "kysely";
import { orgProcedure } from "../trpc.ts";

export const liveRouter = {
  changes: orgProcedure.query(({ ctx }) =>
    ctx.db(async (tx) => {
      // A function, not the statement: Postgres keeps its plan (migration 20261207100000).
      const { rows } = await sql<{
        calls: string | null;
        jobs: string | null;
        messages: string | null;
        replies: string | null;
        subscription: string | null;
        unread: number;
      }>`select * from app.live_changes()`.execute(tx);
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
