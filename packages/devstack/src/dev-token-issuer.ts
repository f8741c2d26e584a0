// Local mode's stand-in for Clerk: signs RS256 session tokens shaped like Clerk's v2
// session tokens with a key of its own, kept under DATA_DIR. The API verifies them with
// @clerk/backend's verifyToken and this issuer's public key, the same path as Clerk's.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const DEV_ISSUER = "https://clerk.callflow.localhost";
export const DEV_KEY_ID = "ins_callflow_dev";

export interface DevTokenRequest {
  /** Null: a signed-in user with no active organization. */
  orgId: string | null;
  role?: "admin" | "member";
  userId?: string;
  /** The dashboard's origin, checked against the API's authorized parties. */
  authorizedParty?: string;
  ttlSeconds?: number;
  /** For tests of the verifier: issue a token already expired, or from another issuer. */
  now?: Date;
  issuer?: string;
  /** Clerk's v1 claim shape (org_id, org_role) instead of v2 (o.id, o.rol). */
  claimsFormat?: "v1" | "v2";
  /** Clerk's `sts`: "pending" while the session has a task open (choose an organization…). */
  sessionStatus?: "active" | "pending";
  /** For tests of the verifier: claims added or replaced as given (an odd role, a forged org id). */
  claims?: Record<string, unknown>;
}

export interface DevTokenIssuer {
  /** PEM public key: what CLERK_JWT_KEY would hold for a Clerk instance. */
  readonly publicKeyPem: string;
  readonly issuer: string;
  issue(request: DevTokenRequest): string;
}

/** Loads the issuer's key from `<dataDir>/dev-issuer/`, creating it on first use. */
export function openDevTokenIssuer(dataDir: string): DevTokenIssuer {
  const dir = join(dataDir, "dev-issuer");
  const privatePath = join(dir, "private.pem");
  if (!existsSync(privatePath)) {
    mkdirSync(dir, { recursive: true });
    // 2048-bit RSA with e=65537: the only shape Clerk's PEM loader reads.
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, publicExponent: 0x10001 });
    writeFileSync(privatePath, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  }
  return devTokenIssuerFromKey(readFileSync(privatePath, "utf8"));
}

const slug = (orgId: string) => orgId.replace(/^org_/, "").replaceAll("_", "-");

export function devTokenIssuerFromKey(privateKeyPem: string): DevTokenIssuer {
  const privateKey = createPrivateKey(privateKeyPem);
  const publicKeyPem = createPublicKey(privateKey).export({ type: "spki", format: "pem" }).toString();
  return {
    publicKeyPem,
    issuer: DEV_ISSUER,
    issue(request) {
      const now = Math.floor((request.now ?? new Date()).getTime() / 1000);
      const role = request.role ?? "admin";
      const payload = {
        v: 2,
        iss: request.issuer ?? DEV_ISSUER,
        sub: request.userId ?? `user_dev_${role}`,
        sid: `sess_${randomBytes(12).toString("hex")}`,
        azp: request.authorizedParty ?? "http://localhost:5173",
        iat: now,
        nbf: now - 5,
        exp: now + (request.ttlSeconds ?? 3600),
        fva: [0, -1],
        // v2 session tokens say whether the session is active or has a task pending.
        ...(request.claimsFormat === "v1" ? {} : { sts: request.sessionStatus ?? "active" }),
        ...(request.orgId === null
          ? {}
          : request.claimsFormat === "v1"
            ? { org_id: request.orgId, org_role: `org:${role}`, org_slug: slug(request.orgId) }
            : { o: { id: request.orgId, rol: role, slg: slug(request.orgId) } }),
        ...request.claims,
      };
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
      const signingInput = `${encode({ alg: "RS256", typ: "JWT", kid: DEV_KEY_ID })}.${encode(payload)}`;
      return `${signingInput}.${sign("RSA-SHA256", Buffer.from(signingInput), privateKey).toString("base64url")}`;
    },
  };
}
