// replies: callers' messages that were not STOP/START/HELP, for staff to read and answer,
// each linked to the call it answers.
import type { TRPCRouterRecord } from "@trpc/server";
import { uuidInput } from "../../pagination.ts";
import { orgProcedure } from "../../trpc.ts";
import { repliesForCall } from "./for-call.handler.ts";
import { listReplies } from "./list.handler.ts";
import { repliesListInput } from "./list.schema.ts";
import { markRepliesRead } from "./mark-read.handler.ts";
import { repliesMarkReadInput } from "./mark-read.schema.ts";
import { unreadReplies } from "./unread-count.handler.ts";

export const repliesRouter = {
  list: orgProcedure.input(repliesListInput).query(listReplies),
  forCall: orgProcedure.input(uuidInput).query(repliesForCall),
  unreadCount: orgProcedure.query(unreadReplies),
  markRead: orgProcedure.input(repliesMarkReadInput).mutation(markRepliesRead),
} satisfies TRPCRouterRecord;
