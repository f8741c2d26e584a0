// Applies supabase/migrations to DATABASE_URL, or to the embedded database under
// DATA_DIR (default .data) when DATABASE_URL is unset. `--seed` also loads seed.sql once.
import { resolve } from "node:path";
import { openDatabase } from "../database.ts";
import { migrate, seedOnce } from "../migrator.ts";

const databaseUrl = process.env.DATABASE_URL;
const database = await openDatabase(
  databaseUrl ? { databaseUrl } : { dataDir: resolve(process.env.DATA_DIR ?? ".data", "pglite") },
);
try {
  const { applied } = await migrate(database);
  console.log(
    applied.length ? `applied ${applied.length} migration(s): ${applied.join(", ")}` : "schema is up to date",
  );
  if (process.argv.includes("--seed"))
    console.log((await seedOnce(database)) ? "seeded demo data" : "demo data already seeded");
} finally {
  await database.close();
}
