// Applies supabase/migrations to DATABASE_URL, or to the embedded database under DATA_DIR
// (from the repository root, as every process reads it) when DATABASE_URL is unset; the
// embedded database's lock is taken as the API takes it. `--seed` also loads seed.sql once.
import { type Database, openDatabase } from "../database.ts";
import { startEmbeddedDatabase } from "../embedded.ts";
import { databaseEnv } from "../env.ts";
import { migrate, seedOnce } from "../migrator.ts";

const env = databaseEnv();
let database: Database;
let close: () => Promise<void>;
try {
  if (env.DATABASE_URL) {
    database = await openDatabase({ databaseUrl: env.DATABASE_URL, poolSize: 1 });
    close = () => database.close();
  } else {
    const embedded = await startEmbeddedDatabase({ dataDir: env.DATA_DIR, port: null });
    database = embedded.database;
    close = embedded.stop;
  }
} catch (error) {
  console.error(`migrate: ${(error as Error).message} (a running API migrates its database when it starts)`);
  process.exit(1);
}
try {
  const { applied } = await migrate(database);
  console.log(
    applied.length ? `applied ${applied.length} migration(s): ${applied.join(", ")}` : "schema is up to date",
  );
  if (process.argv.includes("--seed"))
    console.log((await seedOnce(database)) ? "seeded demo data" : "demo data already seeded");
} finally {
  await close();
}
