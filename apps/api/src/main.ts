// `npm start`: CallFlow from the environment, until SIGINT or SIGTERM. One process, or with
// API_PROCESSES > 1 a primary and that many API workers sharing the port (api-cluster.ts).
import cluster from "node:cluster";
import { exitAnywayAfter, FORCED_EXIT_MS, runClusterPrimary, runClusterWorker } from "./api-cluster.ts";
import { type CallflowConfig, commandPrefix, loadConfig } from "./config.ts";
import { startCallflow } from "./start-callflow.ts";

/** What the start-up message names: the URLs of whatever this start runs. */
interface Announced {
  apiUrl: string;
  webUrl: string | null;
  dataDir: string;
  publicUrl: string;
  hasDevIssuer: boolean;
  databaseSocketUrl: string | null;
  twilioSandboxUrl: string | null;
  stripeSandboxUrl: string | null;
  executorUrl: string | null;
}

function announce(running: Announced) {
  // The printed commands read the same configuration: they carry whatever was not the default.
  const portPrefix = commandPrefix(running);
  if (running.hasDevIssuer) {
    console.log(`\nCallFlow API  ${running.apiUrl}  (tRPC at /trpc, health at /healthz)`);
    console.log("Sign in locally with a dev token, for example:");
    console.log(`  ${portPrefix}npm run -s token -- --org org_demo_rosas_bakery --role admin\n`);
  }
  if (running.webUrl) console.log(`CallFlow dashboard  ${running.webUrl}  (open it in a browser)\n`);
  if (running.databaseSocketUrl) console.log(`Embedded database  ${running.databaseSocketUrl}`);
  if (running.twilioSandboxUrl) {
    console.log(`Twilio sandbox  ${running.twilioSandboxUrl}  (callbacks signed for ${running.publicUrl})`);
  }
  if (running.stripeSandboxUrl) {
    console.log(
      `Stripe sandbox  ${running.stripeSandboxUrl}  (Checkout and portal pages; events signed for ${running.publicUrl})`,
    );
  }
  if (running.executorUrl)
    console.log(`Inngest executor  ${running.executorUrl}  (runs the functions at /api/inngest)`);
  if (running.hasDevIssuer) {
    console.log("\nSimulate a call (last digit of the caller: 0 not on WhatsApp, 1 no WhatsApp receipt, 2 both fail):");
    console.log(`  ${portPrefix}npm run -s simulate:call -- --org org_demo_northside_plumbing --from +15125550147\n`);
  }
}

async function runOneProcess(config: CallflowConfig) {
  const callflow = await startCallflow(config);
  const { log } = callflow;
  announce({ ...callflow, hasDevIssuer: !!callflow.devIssuer });
  callflow.ready.catch((error: Error) => {
    log.error("could not sync the functions with the local executor", { error: error.message });
    process.exit(1);
  });

  let stopping = false;
  async function shutdown(signal: string) {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal });
    exitAnywayAfter(FORCED_EXIT_MS, log);
    await callflow.stop();
    log.info("stopped");
    process.exit(0);
  }
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

if (cluster.isWorker) {
  runClusterWorker();
} else {
  try {
    const config = loadConfig();
    if (config.apiProcesses > 1) {
      await runClusterPrimary(config, (parts) =>
        announce({
          ...parts.shared,
          apiUrl: `http://localhost:${parts.apiPort}`,
          webUrl: parts.webPort === null ? null : `http://localhost:${parts.webPort}`,
          dataDir: config.dataDir,
          publicUrl: parts.publicUrl,
          hasDevIssuer: !!parts.devIssuer,
          databaseSocketUrl: null,
          stripeSandboxUrl: parts.shared.stripeSandbox?.url ?? null,
        }),
      );
    } else {
      await runOneProcess(config);
    }
  } catch (error) {
    console.error(`callflow: ${(error as Error).message}`);
    process.exit(1);
  }
}
