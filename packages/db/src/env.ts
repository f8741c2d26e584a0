// The database's settings, read from the environment here and nowhere else. A relative
// DATA_DIR means the same folder in every process: it is taken from the repository root.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createEnv } from "@t3-oss/env-core";
import { z } from "zod";

export type EnvSource = Record<string, string | undefined>;

export const REPOSITORY_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

const port = z.coerce.number().int().min(0).max(65535);

export function databaseEnv(source: EnvSource = process.env) {
  return createEnv({
    server: {
      /** Unset: the embedded database (PGlite) under DATA_DIR. */
      DATABASE_URL: z.string().url().optional(),
      /** Connections per process to DATABASE_URL. */
      DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
      /** Embedded database files and the dev issuer's key; relative paths from the repository root. */
      DATA_DIR: z
        .string()
        .min(1)
        .default(".data")
        .transform((dir) => resolve(REPOSITORY_ROOT, dir)),
      /** Serves the embedded database on this port for psql and other processes; unset: not served. */
      DB_PORT: port.optional(),
    },
    runtimeEnv: source,
    emptyStringAsUndefined: true,
  });
}

/** This process's environment, to start another process with (and change a few settings). */
export const inheritedEnvironment = (): EnvSource => ({ ...process.env });

/** For tests: a PostgreSQL server to make scratch databases on, and whether that lane is required. */
export function testDatabaseEnv(source: EnvSource = process.env) {
  return createEnv({
    server: {
      TEST_DATABASE_URL: z.string().url().optional(),
      CALLFLOW_REQUIRE_SERVER_LANE: z.enum(["0", "1"]).default("0"),
    },
    runtimeEnv: source,
    emptyStringAsUndefined: true,
  });
}
