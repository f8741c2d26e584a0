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

  // The same shapes as supabase/tests/database/04-admin-definition.test.sql: one definition.
  it.each<[string, Record<string, unknown>, "admin" | "member"]>([
    ["v1 org_role org:admin", { org_id: "org_a", org_role: "org:admin" }, "admin"],
    ["v1 org_role admin (no prefix)", { org_id: "org_a", org_role: "admin" }, "member"],
    ["v2 o.rol admin", { o: { id: "org_a", rol: "admin" } }, "admin"],
    ["v2 o.rol org:admin (prefixed)", { o: { id: "org_a", rol: "org:admin" } }, "member"],
    [
      "v1 org with a v2 admin role beside it",
      { org_id: "org_a", org_role: "org:member", o: { id: "org_a", rol: "admin" } },
      "member",
    ],
  ])("reads %s as %s, as the policies do", async (_shape, claims, orgRole) => {
    const token = issuer.issue({ orgId: null, authorizedParty: WEB, claims });
    expect(await verify(token)).toMatchObject({ orgId: "org_a", orgRole });
  });

  it("refuses a session with a pending task, as Clerk's helpers do", async () => {
    const pending = issuer.issue({ orgId: "org_a", authorizedParty: WEB, sessionStatus: "pending" });
    expect(await rejection(pending)).toMatch(/^session is pending/);
    expect(await rejection(issuer.issue({ orgId: "org_a", authorizedParty: WEB, sessionStatus: "active" }))).toBe(
      "accepted",
    );
  });

  it.each([["org_a'; drop table x"], ["org/../b"], ["x".repeat(65)], [42]])(
    "refuses an organization id that is not one: %j",
    async (orgId) => {
      expect(
        await rejection(
          issuer.issue({ orgId: null, authorizedParty: WEB, claims: { o: { id: orgId, rol: "admin" } } }),
        ),
      ).toMatch(/organization id that is not one/);
    },
  );

  it("needs a subject", () => {
    expect(() => sessionFromClaims({ o: { id: "org_a", rol: "admin" } })).toThrow("no subject");
  });
});
