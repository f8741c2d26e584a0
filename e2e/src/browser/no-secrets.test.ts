// The browser gets publishable values only: a build made with secrets in its environment
// holds none of them, and neither does the dashboard `npm start` serves (apps/web/dist).
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configuredValues } from "../env.ts";
import { buildDashboardInto, WEB_DIR } from "./dashboard-build.ts";

const SECRETS: Record<string, string> = {
  CLERK_SECRET_KEY: "sk_test_callflowLeakCanaryClerk0000000000",
  CLERK_WEBHOOK_SIGNING_SECRET: "whsec_Y2FsbGZsb3ctbGVhay1jYW5hcnktY2xlcms=",
  TWILIO_AUTH_TOKEN: "callflowleakcanarytwilio000000000",
  TWILIO_ACCOUNT_SID: `AC${"c0ffee".repeat(5)}ab`,
  STRIPE_SECRET_KEY: "sk_live_callflowLeakCanaryStripe00000000",
  STRIPE_WEBHOOK_SECRET: "whsec_callflowLeakCanaryStripeWebhook",
  INNGEST_SIGNING_KEY: "signkey-prod-callflowleakcanaryinngest0000",
  INNGEST_EVENT_KEY: "callflowLeakCanaryInngestEventKey",
  DATABASE_URL: "postgresql://postgres:callflowLeakCanaryDbPassword@db.example.test:5432/postgres",
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Each secret value found, with the file it is in (gzip copies are checked through their source). */
function leaks(dir: string, values: Record<string, string>) {
  const found: string[] = [];
  for (const file of filesUnder(dir).filter((path) => !path.endsWith(".gz"))) {
    const text = readFileSync(file, "utf8");
    for (const [name, value] of Object.entries(values)) if (text.includes(value)) found.push(`${name} in ${file}`);
  }
  return found;
}

describe("the built dashboard", () => {
  it("holds no secret that was in the build's environment", () => {
    const outDir = mkdtempSync(join(tmpdir(), "callflow-web-secrets-"));
    buildDashboardInto(outDir, { ...SECRETS, VITE_API_URL: "https://api.callflow.example" });
    const files = filesUnder(outDir);
    expect(files.some((file) => file.endsWith(".js"))).toBe(true);
    // The build did read its environment: the public API URL it was given is in it.
    expect(files.some((file) => readFileSync(file, "utf8").includes("https://api.callflow.example"))).toBe(true);
    expect(leaks(outDir, SECRETS)).toEqual([]);
  });

  // apps/web/dist is built by the e2e project's global setup, as `npm start` builds it.
  it("holds none of this machine's configured secrets in apps/web/dist", () => {
    const configured = Object.fromEntries(
      Object.entries(configuredValues(Object.keys(SECRETS))).filter(([, value]) => (value ?? "").length >= 8),
    );
    const dist = join(WEB_DIR, "dist");
    expect(filesUnder(dist).length).toBeGreaterThan(0);
    expect(leaks(dist, { ...SECRETS, ...configured })).toEqual([]);
  });
});
