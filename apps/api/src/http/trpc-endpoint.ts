// /trpc: the session from the Authorization header (verified, or the reason it is not),
// then tRPC's fetch adapter. Requests without a verified session are limited per client
// address; once an address is over its limit, a token never verified before is refused
// without the cost of verifying it (a signed-in user's token is cached, so they carry on).
// Every TOO_MANY_REQUESTS answer says when to retry (Retry-After).
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import type { Context } from "hono";
import { type Session, SessionError, type VerifySession } from "../auth/session.ts";
import type { Log } from "../log.ts";
import { RateLimited, type RateLimiter } from "../rate-limit.ts";
import { appRouter } from "../trpc/root.ts";
import type { ApiContext } from "../trpc/trpc.ts";
import { clientAddress } from "./client-address.ts";

export interface TrpcEndpointOptions {
  verifySession: VerifySession;
  maxBatchSize: number;
  /** Per client address, for requests without a verified session. */
  anonymousRateLimit: RateLimiter;
  /** What every procedure's context holds beside the request's own session and log. */
  services: Omit<ApiContext, "requestId" | "log" | "session" | "sessionProblem">;
}

type Variables = { requestId: string; log: Log };

export function trpcEndpoint(options: TrpcEndpointOptions) {
  return async (c: Context<{ Variables: Variables }>) => {
    const address = clientAddress(c) ?? "unknown";
    const header = c.req.header("authorization");
    const waitFor = options.anonymousRateLimit.waitFor(address);
    if (waitFor > 0 && !options.verifySession.isVerified?.(bearerToken(header) ?? ""))
      return tooManyRequests(c, waitFor);
    const { session, sessionProblem } = await readSession(header, options.verifySession);
    if (!session) {
      const retryAfter = await options.anonymousRateLimit.take(address);
      if (retryAfter > 0) return tooManyRequests(c, retryAfter);
    }
    return fetchRequestHandler({
      endpoint: "/trpc",
      req: c.req.raw,
      router: appRouter,
      maxBatchSize: options.maxBatchSize,
      createContext: (): ApiContext => ({
        ...options.services,
        requestId: c.get("requestId"),
        log: c.get("log"),
        session,
        sessionProblem,
      }),
      responseMeta: ({ errors }) => {
        const limited = errors.map((error) => error.cause).find((cause) => cause instanceof RateLimited);
        return limited ? { headers: new Headers({ "retry-after": String(limited.retryAfterSeconds) }) } : {};
      },
      onError: ({ error, path }) => {
        if (error.code === "INTERNAL_SERVER_ERROR")
          c.get("log").error("procedure failed", { path, error: error.message, stack: error.cause?.stack });
      },
    });
  };
}

async function readSession(
  header: string | undefined,
  verifySession: VerifySession,
): Promise<{ session: Session | null; sessionProblem: string | null }> {
  if (!header) return { session: null, sessionProblem: null };
  const token = bearerToken(header);
  if (!token) return { session: null, sessionProblem: "authorization header must be: Bearer <session token>" };
  try {
    return { session: await verifySession(token), sessionProblem: null };
  } catch (error) {
    if (!(error instanceof SessionError)) throw error;
    return { session: null, sessionProblem: error.message };
  }
}

const bearerToken = (header: string | undefined) => (header ? /^Bearer (.+)$/i.exec(header)?.[1] : undefined);

function tooManyRequests(c: Context, retryAfterSeconds: number) {
  c.header("retry-after", String(retryAfterSeconds));
  return c.json(
    {
      error: {
        message: `too many requests without a valid session from this address: retry in ${retryAfterSeconds} s`,
        data: { code: "TOO_MANY_REQUESTS", httpStatus: 429 },
      },
    },
    429,
  );
}
