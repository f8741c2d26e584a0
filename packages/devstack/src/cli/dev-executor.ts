// npm run -s executor (pnpm --filter @callflow/devstack executor)
// The local Inngest executor in its own process, shared by API processes the way they
// would share Inngest: start them with INNGEST_BASE_URL=<its URL> and the same
// INNGEST_EVENT_KEY and INNGEST_SIGNING_KEY, then sync each (PUT /api/inngest). Settings
// come from the environment (executor-env.ts). SIGINT / SIGTERM stop it cleanly: calls in
// flight are abandoned (and made again at the next start), then the database is closed.
import { openDatabase } from "@callflow/db";
import { readExecutorEnv } from "../executor/executor-env.ts";
import type { ExecutorLogLine } from "../executor/log.ts";
import { startDevExecutor } from "../executor/start-executor.ts";

const parsed = readExecutorEnv(process.env);
if (!parsed.success) {
  for (const issue of parsed.error.issues) console.error(`dev-executor: ${issue.path.join(".")}: ${issue.message}`);
  process.exit(2);
}
const env = parsed.data;
const ORDER = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
const log = (line: ExecutorLogLine) => {
  if (ORDER[line.level] < ORDER[env.LOG_LEVEL]) return;
  process.stdout.write(`${JSON.stringify({ ...line, time: new Date().toISOString() })}\n`);
};

const database = await openDatabase({ databaseUrl: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE });
const executor = await startDevExecutor({
  database,
  signingKey: env.INNGEST_SIGNING_KEY,
  eventKey: env.INNGEST_EVENT_KEY,
  port: env.INNGEST_EXECUTOR_PORT,
  host: env.INNGEST_EXECUTOR_HOST,
  log,
}).catch(async (error: Error) => {
  console.error(`dev-executor: could not start: ${error.message}`);
  await database.close();
  process.exit(1);
});
console.log(`Inngest executor  ${executor.url}  (INNGEST_BASE_URL for the API processes)`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log({ level: "info", msg: "shutting down", signal });
  await executor.stop();
  await database.close();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
