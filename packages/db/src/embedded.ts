// Local mode's database: PGlite with its files under <dataDir>/pglite, held by this process
// alone (lock file). Served on a port only when asked: a socket client shares the API's one
// Postgres session (a transaction at a time, as a superuser), see socket-session.ts.
import { resolve } from "node:path";
import { holdDataDirLock } from "./data-dir-lock.ts";
import { type Database, databaseOverPglite, openPglite } from "./database.ts";
import { type PgliteSocketServer, servePgliteSocket } from "./socket-server.ts";

export interface EmbeddedDatabase {
  database: Database;
  /** psql-compatible URL of the socket, or null when not served. */
  url: string | null;
  stop(): Promise<void>;
}

export interface EmbeddedDatabaseOptions {
  dataDir: string;
  /** Port of the socket on 127.0.0.1 (0: any free port); unset or null: not served. */
  port?: number | null;
  /** How long a socket client may keep a transaction open before it is rolled back and disconnected. */
  transactionLimitMs?: number;
}

export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const releaseLock = holdDataDirLock(options.dataDir);
  try {
    const pglite = await openPglite(resolve(options.dataDir, "pglite"));
    const database = databaseOverPglite(pglite);
    let server: PgliteSocketServer | null = null;
    if (options.port !== undefined && options.port !== null) {
      server = await servePgliteSocket(pglite, {
        port: options.port,
        ...(options.transactionLimitMs === undefined ? {} : { transactionLimitMs: options.transactionLimitMs }),
      }).catch(async (error: Error) => {
        await database.close();
        throw error;
      });
    }
    return {
      database,
      url: server ? `postgresql://postgres@${server.host}:${server.port}/postgres?sslmode=disable` : null,
      async stop() {
        await server?.close();
        await database.close();
        releaseLock();
      },
    };
  } catch (error) {
    releaseLock();
    throw error;
  }
}
