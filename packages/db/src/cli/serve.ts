// Local mode's database: the embedded PGlite under DATA_DIR, migrated and seeded with
// demo data on first start, served on DB_PORT (default 54322, as `supabase start`) so
// psql and other processes can reach it. Ctrl-C stops it cleanly.
import { resolve } from "node:path";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { databaseOverPglite, openPglite } from "../database.ts";
import { migrate, seedOnce } from "../migrator.ts";
import { holdDataDirLock } from "../data-dir-lock.ts";

const dataDir = resolve(process.env.DATA_DIR ?? ".data");
const port = Number(process.env.DB_PORT ?? 54322);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`DB_PORT must be a port number, got "${process.env.DB_PORT}"`);
  process.exit(2);
}

let releaseLock: () => void;
try {
  releaseLock = holdDataDirLock(dataDir);
} catch (error) {
  console.error(`database: ${(error as Error).message}`);
  process.exit(1);
}
const pglite = await openPglite(resolve(dataDir, "pglite"));
const database = databaseOverPglite(pglite);
const { applied } = await migrate(database);
const seeded = await seedOnce(database);
const server = new PGLiteSocketServer({ db: pglite, port, host: "127.0.0.1" });
await server.start();

console.log(`database: embedded PostgreSQL (PGlite) in ${dataDir}/pglite`);
console.log(`  migrations: ${applied.length ? `applied ${applied.length}` : "up to date"}; demo data: ${seeded ? "seeded now" : "kept from an earlier start"}`);
console.log(`  psql "postgresql://postgres@127.0.0.1:${port}/postgres?sslmode=disable"`);

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`database: ${signal}, stopping`);
  await server.stop();
  await database.close();
  releaseLock();
  process.exit(0);
}
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
