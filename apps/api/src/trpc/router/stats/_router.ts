// stats: what the overview shows. Calls and messages over a period, where each call's
// message ended, and the same per day, with days cut in the business's own timezone.
import type { TRPCRouterRecord } from "@trpc/server";
import { orgProcedure } from "../../trpc.ts";
import { statsDaily } from "./daily.handler.ts";
import { statsOutcomes } from "./outcomes.handler.ts";
import { statsOverview } from "./overview.handler.ts";
import { statsPeriodInput } from "./period.schema.ts";

export const statsRouter = {
  overview: orgProcedure.input(statsPeriodInput).query(statsOverview),
  outcomes: orgProcedure.input(statsPeriodInput).query(statsOutcomes),
  daily: orgProcedure.input(statsPeriodInput).query(statsDaily),
} satisfies TRPCRouterRecord;
