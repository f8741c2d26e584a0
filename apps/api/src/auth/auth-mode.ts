// Which tokens the API accepts: Clerk's when Clerk keys are configured, otherwise the
// local dev issuer's. Never both: with Clerk keys set, a dev token does not verify.
import { type DevTokenIssuer, openDevTokenIssuer } from "@callflow/devstack";
import { createSessionVerifier, type VerifySession } from "./session.ts";

export interface AuthSettings {
  dataDir: string;
  authorizedParties: string[];
  clerkJwtKey?: string;
  clerkSecretKey?: string;
  clerkIssuer?: string;
}

export function chooseAuth(settings: AuthSettings): { verifySession: VerifySession; devIssuer: DevTokenIssuer | null } {
  const clerk = Boolean(settings.clerkJwtKey || settings.clerkSecretKey);
  const devIssuer = clerk ? null : openDevTokenIssuer(settings.dataDir);
  const verifySession = createSessionVerifier({
    jwtKey: settings.clerkJwtKey ?? devIssuer?.publicKeyPem,
    secretKey: settings.clerkSecretKey,
    authorizedParties: settings.authorizedParties,
    issuer: settings.clerkIssuer ?? devIssuer?.issuer,
  });
  return { verifySession, devIssuer };
}
