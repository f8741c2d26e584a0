// A process on a PostgreSQL server (DATABASE_URL) with tracing off loads neither PGlite nor
// the OpenTelemetry SDK and exporter, and Stripe's SDK only once billing uses it: each costs
// megabytes of RSS in every API process.
// The modules a process loaded are read from V8's own list of parsed scripts (the inspector),
// in a child process, since this one (Vitest) has loaded everything already.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { inheritedEnvironment } from "@callflow/db";
import { expect, it } from "vitest";

const API_DIR = fileURLToPath(new URL("../", import.meta.url));

/** Modules of local mode or of tracing, by the package path their files have. */
const WATCHED = {
  pglite: "/@electric-sql/pglite/",
  tracingSdk: "/@opentelemetry/sdk-trace/",
  otlpExporter: "/@opentelemetry/exporter-trace-otlp-http/",
  stripeSdk: "/stripe/",
} as const;

const CHILD = `
import inspector from "node:inspector";
const session = new inspector.Session();
session.connect();
const urls = [];
session.on("Debugger.scriptParsed", (message) => urls.push(message.params.url));
await new Promise((resolve) => session.post("Debugger.enable", resolve));
const watched = ${JSON.stringify(WATCHED)};
const loaded = () => Object.fromEntries(Object.entries(watched).map(([name, part]) => [name, urls.some((url) => url.includes(part))]));

const { openDatabase, openPglite } = await import("@callflow/db");
const { createStripeBilling } = await import("@callflow/providers");
const { loadConfig } = await import("./src/config.ts");
const { startTracing } = await import("./src/tracing/start-tracing.ts");
// As start-callflow.ts opens a server's database (the pool connects on first use: nothing listens here).
const config = loadConfig({ DATABASE_URL: "postgresql://nobody@127.0.0.1:9/none" });
const database = await openDatabase({ databaseUrl: config.database.url, poolSize: 1 });
const tracing = await startTracing(config.tracing);
const billing = createStripeBilling({ secretKey: "sk_test_unused", webhookSecrets: ["whsec_unused"] });
const unsigned = await billing.verifyWebhook("{}", undefined);
const serverMode = { ...loaded(), tracingEnabled: tracing.enabled, unsigned };
await database.close();

// The same process once it opens an embedded database and exports traces: the list sees them.
const pglite = await openPglite();
await pglite.close();
const exporting = await startTracing({ ...config.tracing, otlpTracesUrl: "http://127.0.0.1:9/v1/traces" });
await exporting.shutdown();
const forged = await billing.verifyWebhook("{}", "t=1,v1=00");
console.log(JSON.stringify({ serverMode, afterwards: loaded(), forged }));
`;

it("a server-mode process loads neither PGlite nor the tracing SDK, nor Stripe's before billing needs it; using them loads them", async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "--eval", CHILD],
    { cwd: API_DIR, env: { PATH: inheritedEnvironment().PATH ?? "" }, timeout: 60_000 },
  );
  const seen = JSON.parse(stdout.trim().split("\n").at(-1) as string);
  expect(seen.serverMode).toEqual({
    pglite: false,
    tracingSdk: false,
    otlpExporter: false,
    stripeSdk: false,
    tracingEnabled: false,
    // Refused before the SDK is needed: an unsigned request does not load it.
    unsigned: { ok: false, reason: "missing Stripe-Signature header" },
  });
  expect(seen.afterwards).toEqual({ pglite: true, tracingSdk: true, otlpExporter: true, stripeSdk: true });
  expect(seen.forged.ok).toBe(false);
}, 90_000);
