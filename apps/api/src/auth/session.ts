// Clerk session tokens, verified by @clerk/backend and normalised from either claim
// format: v1 carries org_id / org_role ("org:admin"), v2 carries o.id / o.rol ("admin").

import type { SessionClaims } from "@callflow/db";
import { verifyToken } from "@clerk/backend";

export interface Session {
  userId: string;
  orgId: string | null;
  orgRole: "admin" | "member" | null;
  /** The verified claims, handed to Postgres as request.jwt.claims. */
  claims: SessionClaims;
  expiresAt: number;
}

export class SessionError extends Error {}

/** What Postgres accepts as an organization id (organizations.id's check constraint). */
const ORG_ID = /^[A-Za-z0-9_]{1,64}$/;

/**
 * The session a verified token stands for. The org and the role come from one claim
 * format, the same rule as the policies' app.org_id() and app.is_org_admin()
 * (supabase/migrations/…_one_definition_of_admin.sql): a v1 token (org_id present) is an
 * admin with org_role "org:admin", a v2 token with o.rol "admin"; anything else is a member.
 */
export function sessionFromClaims(claims: Record<string, unknown>): Session {
  const sub = claims.sub;
  if (typeof sub !== "string" || sub === "") throw new SessionError("session token has no subject");
  // Clerk's helpers treat a session with a pending task (choose an organization, reset a
  // password) as signed out; so does this API.
  if (claims.sts === "pending") {
    throw new SessionError("session is pending: finish signing in (a task such as choosing an organization is open)");
  }
  const v2 = typeof claims.o === "object" && claims.o !== null ? (claims.o as Record<string, unknown>) : undefined;
  const v1 = claims.org_id !== undefined && claims.org_id !== null;
  const orgId = v1 ? claims.org_id : v2?.id;
  if (orgId === undefined || orgId === null || orgId === "") {
    return { userId: sub, orgId: null, orgRole: null, claims: claims as SessionClaims, expiresAt: expiry(claims) };
  }
  if (typeof orgId !== "string" || !ORG_ID.test(orgId)) {
    throw new SessionError("session token names an organization id that is not one (letters, digits and _ only)");
  }
  const admin = v1 ? claims.org_role === "org:admin" : v2?.rol === "admin";
  return {
    userId: sub,
    orgId,
    orgRole: admin ? "admin" : "member",
    claims: claims as SessionClaims,
    expiresAt: expiry(claims),
  };
}

const expiry = (claims: Record<string, unknown>) => (typeof claims.exp === "number" ? claims.exp : 0);

export interface VerifierOptions {
  /** PEM public key: verification without network (Clerk's CLERK_JWT_KEY, or the dev issuer's). */
  jwtKey?: string;
  /** Clerk secret key: keys fetched from Clerk's JWKS endpoint (cached by the SDK). */
  secretKey?: string;
  authorizedParties: string[];
  issuer?: string;
  now?: () => number;
}

export interface VerifySession {
  (token: string): Promise<Session>;
  /** Whether the token was verified before and has not expired: checking it again costs nothing. */
  isVerified?(token: string): boolean;
}

const REASONS: Record<string, string> = {
  "token-expired": "session token expired",
  "token-not-active-yet": "session token is not valid yet",
  "token-invalid-signature": "session token signature is invalid",
  "token-invalid-authorized-parties": "session token was issued for another application",
  "token-invalid-issuer": "session token comes from another issuer",
  "token-invalid": "session token is malformed",
};

/**
 * The SDK imports the key on every verification (~0.2 ms); verified tokens are cached
 * by their exact text until they expire, so a dashboard's repeated requests pay it once.
 */
export function createSessionVerifier(options: VerifierOptions, cacheSize = 10_000): VerifySession {
  if (!options.jwtKey && !options.secretKey) throw new Error("a Clerk JWT key or secret key is required");
  const now = options.now ?? (() => Date.now());
  const cache = new Map<string, Session>();
  const verify: VerifySession = async (token) => {
    const cached = cache.get(token);
    if (cached && cached.expiresAt * 1000 > now()) return cached;
    cache.delete(token);
    let claims: Record<string, unknown>;
    try {
      claims = (await verifyToken(token, {
        ...(options.jwtKey ? { jwtKey: options.jwtKey } : { secretKey: options.secretKey }),
        authorizedParties: options.authorizedParties,
        clockSkewInMs: 5_000,
      })) as unknown as Record<string, unknown>;
    } catch (error) {
      const reason = (error as { reason?: string }).reason;
      throw new SessionError((reason && REASONS[reason]) ?? "session token is invalid");
    }
    if (options.issuer && claims.iss !== options.issuer) throw new SessionError(REASONS["token-invalid-issuer"]);
    if (typeof claims.azp !== "string" || !options.authorizedParties.includes(claims.azp)) {
      // Clerk skips the check when a token has no azp; a dashboard's token always has one.
      throw new SessionError(REASONS["token-invalid-authorized-parties"]);
    }
    const session = sessionFromClaims(claims);
    if (cache.size >= cacheSize) cache.delete(cache.keys().next().value as string);
    cache.set(token, session);
    return session;
  };
  verify.isVerified = (token) => (cache.get(token)?.expiresAt ?? 0) * 1000 > now();
  return verify;
}
