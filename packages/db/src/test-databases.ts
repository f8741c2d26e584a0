// Databases for tests: the embedded lane always, the PostgreSQL server lane when
// TEST_DATABASE_URL names a server to create scratch databases on.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { inject } from "vitest";
import { type Database, databaseOverPglite, openDatabase, openPglite } from "./database.ts";
import { testDatabaseEnv } from "./env.ts";
import { migrate } from "./migrator.ts";

export type LaneName = "pglite" | "postgres";

export interface ScratchDatabase {
  database: Database;
  /** Server lane only: the scratch database's URL, for a second connection pool. */
  url?: string;
  /** Closes the connection and removes the database. */
  dispose(): Promise<void>;
}

export function testLanes(): LaneName[] {
  const { TEST_DATABASE_URL: server, CALLFLOW_REQUIRE_SERVER_LANE } = testDatabaseEnv();
  if (!server && CALLFLOW_REQUIRE_SERVER_LANE === "1") {
    throw new Error("CALLFLOW_REQUIRE_SERVER_LANE=1 but TEST_DATABASE_URL is not set");
  }
  return server ? ["pglite", "postgres"] : ["pglite"];
}

/** A new, empty database: no bootstrap, no migrations. */
export async function bareDatabase(lane: LaneName): Promise<ScratchDatabase> {
  if (lane === "pglite") {
    const database = databaseOverPglite(await openPglite());
    return { database, dispose: () => database.close() };
  }
  const serverUrl = testDatabaseEnv().TEST_DATABASE_URL;
  if (!serverUrl) throw new Error("TEST_DATABASE_URL is not set");
  const name = `callflow_test_${randomBytes(6).toString("hex")}`;
  await adminQuery(serverUrl, `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString(), poolSize: 4 });
  return {
    database,
    url: url.toString(),
    async dispose() {
      await database.close();
      // The pool's sockets may still be closing: wait for them rather than kill them, so
      // no client sees its connection terminated mid-way.
      for (let attempt = 0; attempt < 50; attempt++) {
        try {
          await adminQuery(serverUrl, `drop database if exists ${name}`);
          return;
        } catch (error) {
          if ((error as { code?: string }).code !== "55006") throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      await adminQuery(serverUrl, `drop database if exists ${name} with (force)`);
    },
  };
}

/** A database with every migration applied. */
export async function migratedDatabase(lane: LaneName): Promise<ScratchDatabase> {
  if (lane === "pglite") {
    // Loading the snapshot made once per run in globalSetup is ~6x faster than initdb.
    const snapshot = await readFile(inject("migratedPgliteSnapshot"));
    const pglite = await PGlite.create({ loadDataDir: new Blob([snapshot]), parsers: { 20: Number } });
    const database = databaseOverPglite(pglite);
    return { database, dispose: () => database.close() };
  }
  const scratch = await bareDatabase(lane);
  await migrate(scratch.database);
  return scratch;
}

async function adminQuery(serverUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    migratedPgliteSnapshot: string;
  }
}
