import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PostgresDialect, sql, type Transaction } from "kysely";
import pg from "pg";
import { PGliteDialect } from "./pglite-dialect.ts";
import type { DB } from "./schema.generated.ts";

/**
 * The verified session token's claims, as Supabase's gateway would set them. Policies
 * read the org from `org_id` (Clerk v1 tokens) or `o.id` (v2) and the role from
 * `org_role` / `o.rol`.
 */
export interface SessionClaims {
  sub: string;
  org_id?: string;
  org_role?: string;
  o?: { id: string; rol: string; slg?: string };
  [claim: string]: unknown;
}

export type Tx = Transaction<DB>;

export interface Database {
  readonly kind: "postgres" | "pglite";
  /** Anything a user asks for: one transaction as `authenticated` with the user's claims. */
  withTenant<T>(claims: SessionClaims, fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** System work (webhooks, functions): one transaction as `service_role`; filter by org yourself. */
  withService<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** The connecting role itself, for migrations and tooling; never for requests. */
  readonly owner: Kysely<DB>;
  close(): Promise<void>;
}

export type DatabaseLocation = { databaseUrl: string; poolSize?: number } | { dataDir: string } | { inMemory: true };

const INT8_OID = 20;

export async function openDatabase(location: DatabaseLocation): Promise<Database> {
  if ("databaseUrl" in location) {
    const pool = new pg.Pool({
      connectionString: location.databaseUrl,
      max: location.poolSize ?? 10,
      // A server that does not answer (a network partition, a stopped VM) fails the request
      // after this rather than holding it, and the webhook's provider retries.
      connectionTimeoutMillis: 10_000,
      // Counts come back as int8; every count we take fits a JS number.
      types: {
        getTypeParser: ((oid: number, format?: "text" | "binary") =>
          oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // An idle connection the server closed (restart, failover, pooler recycling) is dropped
    // and replaced on the next checkout; unhandled, its error would end the process.
    pool.on("error", () => {});
    return databaseOver(new Kysely<DB>({ dialect: new PostgresDialect({ pool }) }), "postgres");
  }
  const pglite = await openPglite("dataDir" in location ? location.dataDir : undefined);
  return databaseOverPglite(pglite);
}

export async function openPglite(dataDir?: string): Promise<PGlite> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  return PGlite.create(dataDir, { parsers: { [INT8_OID]: Number } });
}

/** For a process that shares its PGlite instance (for example with a socket server). */
export function databaseOverPglite(pglite: PGlite): Database {
  return databaseOver(new Kysely<DB>({ dialect: new PGliteDialect(pglite) }), "pglite");
}

// Everything a transaction's visibility depends on is set in it, transaction-local, whatever
// the session holds: a setting left on the session (by a socket client, a pooled connection's
// previous user, ALTER ROLE/DATABASE ... SET) cannot redirect it.
// - both claim settings: Supabase's auth.jwt() reads request.jwt.claim first, then request.jwt.claims;
// - search_path: a schema (or a temporary table: pg_temp listed last) cannot shadow public's tables;
// - row_security: off would turn every policy-checked query into an error.
const SEARCH_PATH = "public, extensions, pg_temp";

function databaseOver(owner: Kysely<DB>, kind: Database["kind"]): Database {
  return {
    kind,
    owner,
    withTenant(claims, fn) {
      return owner.transaction().execute(async (tx) => {
        const token = JSON.stringify(claims);
        // Bound parameters for the claims; `role` via set_config is SET LOCAL ROLE.
        await sql`select set_config('search_path', ${SEARCH_PATH}, true), set_config('row_security', 'on', true),
          set_config('request.jwt.claims', ${token}, true), set_config('request.jwt.claim', ${token}, true),
          set_config('role', 'authenticated', true)`.execute(tx);
        return fn(tx);
      });
    },
    withService(fn) {
      return owner.transaction().execute(async (tx) => {
        // No claims: system work filters by org itself and must not act on anyone's token.
        await sql`select set_config('search_path', ${SEARCH_PATH}, true), set_config('row_security', 'on', true),
          set_config('request.jwt.claims', '', true), set_config('request.jwt.claim', '', true),
          set_config('role', 'service_role', true)`.execute(tx);
        return fn(tx);
      });
    },
    close: () => owner.destroy(),
  };
}
