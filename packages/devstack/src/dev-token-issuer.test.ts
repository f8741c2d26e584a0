import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyToken } from "@clerk/backend";
import { describe, expect, it } from "vitest";
import { DEV_ISSUER, openDevTokenIssuer } from "./dev-token-issuer.ts";

describe("dev token issuer", () => {
  it("keeps its key across starts and signs Clerk-shaped v2 tokens that Clerk's SDK verifies", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "callflow-devstack-"));
    const first = openDevTokenIssuer(dataDir);
    const again = openDevTokenIssuer(dataDir);
    expect(again.publicKeyPem).toBe(first.publicKeyPem);
    expect(readFileSync(join(dataDir, "dev-issuer", "private.pem"), "utf8")).toContain("PRIVATE KEY");
    const token = first.issue({
      orgId: "org_demo",
      role: "member",
      userId: "user_1",
      authorizedParty: "http://localhost:5173",
    });
    const claims = await verifyToken(token, {
      jwtKey: first.publicKeyPem,
      authorizedParties: ["http://localhost:5173"],
    });
    expect(claims).toMatchObject({
      v: 2,
      iss: DEV_ISSUER,
      sub: "user_1",
      azp: "http://localhost:5173",
      o: { id: "org_demo", rol: "member" },
    });
  });
});
