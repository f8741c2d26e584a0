// tRPC's context and the procedures every router builds on. Auth is middleware that
// narrows ctx, so a handler cannot forget it: org procedures get `ctx.db`, which runs
// work inside withTenant with the caller's claims, and nothing that bypasses RLS.
import type { Tx } from "@callflow/db";
import type { BillingProvider, PhoneNumberDirectory, PlanPrice } from "@callflow/providers";
import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError } from "zod";
import type { Session } from "../auth/session.ts";
import type { Log } from "../log.ts";
import { RateLimited, type RateLimiter } from "../rate-limit.ts";
import { clientErrorOf } from "./database-errors.ts";

export interface ApiContext {
  requestId: string;
  log: Log;
  /** Null with the reason when there was no token or it did not verify. */
  session: Session | null;
  sessionProblem: string | null;
  /** "read" for queries: each query a READ ONLY transaction sent with its set-up in one message (readAsTenant). */
  tenantDb: (session: Session, access: "read" | "write") => <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;
  ensureOrganization: (session: Session) => Promise<void>;
  rateLimit: RateLimiter;
  /** CallFlow's Twilio numbers, for connecting one; null when Twilio is not configured. */
  phoneNumberDirectory: PhoneNumberDirectory | null;
  /** Stripe, for Checkout and the portal; null when billing is not configured. */
  billing: BillingProvider | null;
  /** Stripe's prices of the paid plans by lookup key (cached); null when Stripe cannot be asked. */
  planPrices: () => Promise<Map<string, PlanPrice> | null>;
  /** Where the dashboard is: Checkout and the portal send the business back there. */
  dashboardUrl: string;
}

/** What an org (or admin) procedure's handler gets: the verified session and its tenant transactions. */
export type OrgContext = ApiContext & {
  session: Session;
  orgId: string;
  userId: string;
  /** A transaction as the caller (withTenant): RLS decides what it sees. */
  db: <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;
};

/** Who may call a procedure; tests read it to cover every procedure without a list. */
export interface ProcedureMeta {
  access: "public" | "user" | "org" | "admin";
}

const t = initTRPC
  .context<ApiContext>()
  .meta<ProcedureMeta>()
  .create({
    errorFormatter({ shape, error, ctx }) {
      // What failed inside is for the logs (with this id), never for the client.
      if (error.code === "INTERNAL_SERVER_ERROR") {
        return {
          ...shape,
          message: `internal error: quote request id ${ctx?.requestId ?? "unknown"} when reporting it`,
          data: { code: shape.data.code, httpStatus: shape.data.httpStatus, path: shape.data.path },
        };
      }
      const issues =
        error.cause instanceof ZodError
          ? error.cause.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message }))
          : undefined;
      return {
        ...shape,
        message: issues
          ? issues.map((issue) => `${issue.path || "input"}: ${issue.message}`).join("; ")
          : shape.message,
        data: { code: shape.data.code, httpStatus: shape.data.httpStatus, path: shape.data.path, issues },
      };
    },
  });

export const router = t.router;

/** Every procedure: a refusal by Postgres reaches the client as the error it means. */
const procedure = t.procedure.use(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const converted = clientErrorOf(result.error.cause);
    if (converted) throw converted;
  }
  return result;
});

export const publicProcedure = procedure.meta({ access: "public" });

export const protectedProcedure = procedure.meta({ access: "user" }).use(({ ctx, next }) => {
  if (!ctx.session) {
    throw new TRPCError({ code: "UNAUTHORIZED", message: ctx.sessionProblem ?? "sign in: no session token was sent" });
  }
  return next({ ctx: { session: ctx.session } });
});

export const orgProcedure = protectedProcedure.meta({ access: "org" }).use(async ({ ctx, next, type }) => {
  const { session } = ctx;
  if (!session.orgId) {
    throw new TRPCError({
      code: "FORBIDDEN",
      message: "select an organization: this session has no active organization",
    });
  }
  const retryAfter = await ctx.rateLimit.take(`${session.userId}:${session.orgId}`);
  if (retryAfter > 0) {
    throw new TRPCError({
      code: "TOO_MANY_REQUESTS",
      message: `too many requests: slow down and retry in ${retryAfter} s`,
      cause: new RateLimited(retryAfter),
    });
  }
  await ctx.ensureOrganization(session);
  // Queries only read: Postgres holds them to it, one round trip a query.
  const db = ctx.tenantDb(session, type === "query" ? "read" : "write");
  return next({ ctx: { session, orgId: session.orgId, userId: session.userId, db } });
});

export const adminProcedure = orgProcedure.meta({ access: "admin" }).use(({ ctx, next }) => {
  if (ctx.session.orgRole !== "admin") {
    throw new TRPCError({ code: "FORBIDDEN", message: "only organization admins can do this" });
  }
  return next();
});

export const notFound = (what: string) => new TRPCError({ code: "NOT_FOUND", message: `${what} not found` });
