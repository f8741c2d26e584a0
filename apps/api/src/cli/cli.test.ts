// The command-line tools read the same configuration as the API: a token printed with
// WEB_PORT or WEB_ORIGIN set is one the API configured the same way accepts.
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { inheritedEnvironment } from "@callflow/db";
import { describe, expect, it } from "vitest";
import { chooseAuth } from "../auth/auth-mode.ts";
import { loadConfig, webOriginsOf } from "../config.ts";

const run = promisify(execFile);
const tokenCli = new URL("./token.ts", import.meta.url).pathname;

const printToken = (env: Record<string, string | undefined>, ...args: string[]) =>
  run("npx", ["tsx", tokenCli, ...args], { env: { ...inheritedEnvironment(), ...env } });

describe("npm run token", () => {
  it.each([
    ["WEB_PORT set", { WEB_PORT: "4000" }],
    ["WEB_ORIGIN with two origins", { WEB_ORIGIN: "https://app.example.com, http://localhost:5173" }],
    ["neither", {}],
  ])(
    "prints a token the API accepts with %s",
    async (_case, settings) => {
      const env = {
        ...settings,
        DATA_DIR: mkdtempSync(join(tmpdir(), "callflow-cli-")),
        CLERK_SECRET_KEY: "",
        CLERK_JWT_KEY: "",
      };
      const { stdout } = await printToken(env, "--org", "org_demo_rosas_bakery", "--role", "admin");
      const config = loadConfig({ ...env });
      const { verifySession } = chooseAuth({ dataDir: config.dataDir, authorizedParties: webOriginsOf(config, null) });
      expect(await verifySession(stdout.trim())).toMatchObject({ orgId: "org_demo_rosas_bakery", orgRole: "admin" });
    },
    60_000,
  );

  it("refuses when Clerk keys are set, and refuses a malformed org", async () => {
    const env = { DATA_DIR: mkdtempSync(join(tmpdir(), "callflow-cli-")), CLERK_JWT_KEY: "" };
    const refused = await printToken({ ...env, CLERK_SECRET_KEY: "sk_test_x" }, "--org", "org_demo").catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(refused).toMatchObject({ code: 1 });
    expect((refused as { stderr: string }).stderr).toContain("Clerk keys are configured");
    const bad = await printToken({ ...env, CLERK_SECRET_KEY: "" }, "--org", "bad org").catch(
      (error: { code: number }) => error,
    );
    expect(bad).toMatchObject({ code: 2 });
  }, 60_000);
});
