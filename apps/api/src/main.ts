// `npm start`: CallFlow from the environment, until SIGINT or SIGTERM.
import { commandPrefix, loadConfig } from "./config.ts";
import { startCallflow } from "./start-callflow.ts";

let callflow: Awaited<ReturnType<typeof startCallflow>>;
try {
  callflow = await startCallflow(loadConfig());
} catch (error) {
  console.error(`callflow: ${(error as Error).message}`);
  process.exit(1);
}
const { log } = callflow;

// The printed commands read the same configuration: they carry whatever was not the default.
const portPrefix = commandPrefix(callflow);
if (callflow.devIssuer) {
  console.log(`\nCallFlow API  ${callflow.apiUrl}  (tRPC at /trpc, health at /healthz)`);
  console.log("Sign in locally with a dev token, for example:");
  console.log(`  ${portPrefix}npm run -s token -- --org org_demo_rosas_bakery --role admin\n`);
}
if (callflow.webUrl) console.log(`CallFlow dashboard  ${callflow.webUrl}  (open it in a browser)\n`);
if (callflow.databaseSocketUrl) console.log(`Embedded database  ${callflow.databaseSocketUrl}`);
if (callflow.twilioSandboxUrl) {
  console.log(`Twilio sandbox  ${callflow.twilioSandboxUrl}  (callbacks signed for ${callflow.publicUrl})`);
}
if (callflow.stripeSandboxUrl) {
  console.log(
    `Stripe sandbox  ${callflow.stripeSandboxUrl}  (Checkout and portal pages; events signed for ${callflow.publicUrl})`,
  );
}
if (callflow.executorUrl)
  console.log(`Inngest executor  ${callflow.executorUrl}  (runs the functions at /api/inngest)`);
if (callflow.devIssuer) {
  console.log("\nSimulate a call (last digit of the caller: 0 not on WhatsApp, 1 no WhatsApp receipt, 2 both fail):");
  console.log(`  ${portPrefix}npm run -s simulate:call -- --org org_demo_northside_plumbing --from +15125550147\n`);
}
callflow.ready.catch((error: Error) => {
  log.error("could not sync the functions with the local executor", { error: error.message });
  process.exit(1);
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info("shutting down", { signal });
  // A part that never stops must not keep the process (and whoever waits for it) forever.
  setTimeout(() => {
    log.error("could not stop within 30 s; exiting anyway");
    process.exit(1);
  }, 30_000).unref();
  await callflow.stop();
  log.info("stopped");
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
