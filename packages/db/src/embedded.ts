// Local mode's database: PGlite with its files under <dataDir>/pglite, held by this
// process alone (lock file), and served on a port so psql and other processes reach it.
import { resolve } from "node:path";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { holdDataDirLock } from "./data-dir-lock.ts";
import { type Database, databaseOverPglite, openPglite } from "./database.ts";

export interface EmbeddedDatabase {
  database: Database;
  /** psql-compatible URL of the socket, or null when not served. */
  url: string | null;
  stop(): Promise<void>;
}

export async function startEmbeddedDatabase(options: {
  dataDir: string;
  port: number | null;
}): Promise<EmbeddedDatabase> {
  const releaseLock = holdDataDirLock(options.dataDir);
  try {
    const pglite = await openPglite(resolve(options.dataDir, "pglite"));
    const database = databaseOverPglite(pglite);
    let server: PGLiteSocketServer | null = null;
    if (options.port !== null) {
      server = new PGLiteSocketServer({ db: pglite, port: options.port, host: "127.0.0.1" });
      await server.start();
    }
    return {
      database,
      url: server ? `postgresql://postgres@127.0.0.1:${options.port}/postgres?sslmode=disable` : null,
      async stop() {
        await server?.stop();
        await database.close();
        releaseLock();
      },
    };
  } catch (error) {
    releaseLock();
    throw error;
  }
}
