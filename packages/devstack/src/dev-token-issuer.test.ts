import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { verifyToken } from "@clerk/backend";
import { describe, expect, it } from "vitest";
import { DEV_ISSUER, openDevTokenIssuer } from "./dev-token-issuer.ts";

const run = promisify(execFile);
const cli = new URL("./cli/token.ts", import.meta.url).pathname;

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

  it("prints a token from the command line, and refuses when Clerk keys are set", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "callflow-devstack-cli-"));
    const env = { ...process.env, DATA_DIR: dataDir, CLERK_SECRET_KEY: "", CLERK_JWT_KEY: "" };
    const { stdout } = await run("npx", ["tsx", cli, "--org", "org_demo", "--role", "admin"], { env });
    expect(stdout.trim().split(".")).toHaveLength(3);
    const refused = await run("npx", ["tsx", cli, "--org", "org_demo"], {
      env: { ...env, CLERK_SECRET_KEY: "sk_test_x" },
    }).catch((error: { code: number; stderr: string }) => error);
    expect(refused).toMatchObject({ code: 1 });
    expect((refused as { stderr: string }).stderr).toContain("Clerk keys are configured");
    const bad = await run("npx", ["tsx", cli, "--org", "bad org"], { env }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(bad).toMatchObject({ code: 2 });
  }, 60_000);
});
