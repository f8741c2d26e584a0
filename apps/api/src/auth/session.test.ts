import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDevTokenIssuer } from "@callflow/devstack";
import { describe, expect, it } from "vitest";
import { chooseAuth } from "./auth-mode.ts";
import { createSessionVerifier, SessionError, sessionFromClaims } from "./session.ts";

const WEB = "http://localhost:5173";
const issuer = openDevTokenIssuer(mkdtempSync(join(tmpdir(), "callflow-issuer-")));
const verify = createSessionVerifier({ jwtKey: issuer.publicKeyPem, authorizedParties: [WEB], issuer: issuer.issuer });
const rejection = (token: string, verifier = verify) =>
  verifier(token).then(
    () => "accepted",
    (error: unknown) => (error instanceof SessionError ? error.message : `unexpected: ${error}`),
  );

describe("session tokens", () => {
  it.each([
    ["v2", "admin", "admin"],
    ["v2", "member", "member"],
    ["v1", "admin", "admin"],
    ["v1", "member", "member"],
  ] as const)("normalises %s claims of an org %s", async (claimsFormat, role, orgRole) => {
    const session = await verify(
      issuer.issue({ orgId: "org_a", role, userId: "user_1", claimsFormat, authorizedParty: WEB }),
    );
    expect(session).toMatchObject({ userId: "user_1", orgId: "org_a", orgRole });
  });

  it("reads a session without an active organization", async () => {
    expect(await verify(issuer.issue({ orgId: null, authorizedParty: WEB }))).toMatchObject({
      orgId: null,
      orgRole: null,
    });
  });

  it("rejects an expired token", async () => {
    const token = issuer.issue({
      orgId: "org_a",
      authorizedParty: WEB,
      now: new Date(Date.now() - 7_200_000),
      ttlSeconds: 60,
    });
    expect(await rejection(token)).toBe("session token expired");
  });

  it("rejects a token whose payload was changed after signing", async () => {
    const [header, payload, signature] = issuer
      .issue({ orgId: "org_a", role: "member", authorizedParty: WEB })
      .split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString());
    claims.o.rol = "admin";
    const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
    expect(await rejection(forged)).toBe("session token signature is invalid");
  });

  it("rejects a token for another application (azp)", async () => {
    expect(await rejection(issuer.issue({ orgId: "org_a", authorizedParty: "https://evil.example" }))).toBe(
      "session token was issued for another application",
    );
  });

  it("rejects a token from another issuer", async () => {
    expect(
      await rejection(issuer.issue({ orgId: "org_a", authorizedParty: WEB, issuer: "https://clerk.other.example" })),
    ).toBe("session token comes from another issuer");
  });

  it("rejects garbage", async () => {
    expect(await rejection("not.a.token")).toBe("session token is malformed");
  });

  it("rejects a dev token once Clerk keys are configured, and has no dev issuer then", async () => {
    const otherKey = openDevTokenIssuer(mkdtempSync(join(tmpdir(), "callflow-clerk-"))).publicKeyPem;
    const dataDir = mkdtempSync(join(tmpdir(), "callflow-auth-"));
    const local = chooseAuth({ dataDir, authorizedParties: [WEB] });
    const clerk = chooseAuth({ dataDir, authorizedParties: [WEB], clerkJwtKey: otherKey });
    expect(local.devIssuer).not.toBeNull();
    expect(clerk.devIssuer).toBeNull();
    const devToken = local.devIssuer?.issue({ orgId: "org_a", authorizedParty: WEB }) ?? "";
    expect(await rejection(devToken, local.verifySession)).toBe("accepted");
    expect(await rejection(devToken, clerk.verifySession)).toBe("session token signature is invalid");
  });

  it("needs a subject", () => {
    expect(() => sessionFromClaims({ o: { id: "org_a", rol: "admin" } })).toThrow("no subject");
  });
});
