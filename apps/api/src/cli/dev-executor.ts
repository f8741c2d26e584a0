// npm run -s executor
// The local Inngest executor in its own process, shared by API processes the way they
// would share Inngest: start them with INNGEST_BASE_URL=<its URL> and the same
// INNGEST_EVENT_KEY and INNGEST_SIGNING_KEY, then sync each (PUT /api/inngest). Its settings
// are the product's (config.ts): DATABASE_URL, DATABASE_POOL_SIZE, the two keys,
// INNGEST_EXECUTOR_PORT and INNGEST_EXECUTOR_HOST, LOG_LEVEL. SIGINT / SIGTERM stop it
// cleanly: calls in flight are abandoned (and made again at the next start).
import { openDatabase } from "@callflow/db";
import { startDevExecutor } from "@callflow/devstack";
import { type CallflowConfig, loadConfig } from "../config.ts";
import { createLog } from "../log.ts";

const fail = (message: string): never => {
  console.error(`dev-executor: ${message}`);
  process.exit(2);
};
const config = (() => {
  try {
    return loadConfig();
  } catch (error) {
    return fail((error as Error).message);
  }
})();
const { database: settings, inngest } = config;
if (!settings.url) fail("set DATABASE_URL (the embedded database's socket works too, with DATABASE_POOL_SIZE=1)");
if (inngest.kind !== "cloud") fail("set INNGEST_EVENT_KEY and INNGEST_SIGNING_KEY: the keys the API processes use");
const keys = inngest as Extract<CallflowConfig["inngest"], { kind: "cloud" }>;
const log = createLog(config.logLevel, { service: "dev-executor" });

const database = await openDatabase({ databaseUrl: settings.url as string, poolSize: settings.poolSize });
const executor = await startDevExecutor({
  database,
  signingKey: keys.signingKey,
  eventKey: keys.eventKey,
  port: config.executor.port,
  host: config.executor.host,
  log: ({ level, msg, ...fields }) => log[level](msg, fields),
}).catch(async (error: Error) => {
  await database.close();
  return fail(`could not start: ${error.message}`);
});
console.log(`Inngest executor  ${executor.url}  (INNGEST_BASE_URL for the API processes)`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info("shutting down", { signal });
  await executor.stop();
  await database.close();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
