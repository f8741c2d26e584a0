import { mkdirSync } from "node:fs";
import type { PGlite } from "@electric-sql/pglite";
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  Kysely,
  PostgresDialect,
  type QueryExecutor,
  type QueryResult,
  SingleConnectionProvider,
  sql,
  Transaction,
} from "kysely";
import pg from "pg";
import { inlineParameters, quoteLiteral } from "./inline-parameters.ts";
import { PGliteDialect } from "./pglite-dialect.ts";
import { sessionLockOf } from "./pglite-session-lock.ts";
import type { DB } from "./schema.generated.ts";
import { parseTimestamptz, TIMESTAMPTZ_OID } from "./timestamptz-parser.ts";

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

/** The server-side functions that run as service_role (SECURITY DEFINER, owned by it). */
export type ServiceFunction =
  | "app.record_call_report"
  | "app.record_call_reports"
  | "app.settle_call"
  | "app.record_message_status"
  | "app.record_message_statuses"
  | "app.record_recipient_fact"
  | "app.relay_outbox"
  | "app.take_rate_limit";

/** `select * from <name>($1, …, $n)`: the same text every time, so no compiling per call. */
export function serviceFunctionCall(name: ServiceFunction, args: readonly unknown[]): CompiledQuery {
  const placeholders = args.map((_, index) => `$${index + 1}`).join(", ");
  return CompiledQuery.raw(`select * from ${name}(${placeholders})`, [...args]);
}

export interface Database {
  readonly kind: "postgres" | "pglite";
  /** Anything a user asks for: one transaction as `authenticated` with the user's claims. */
  withTenant<T>(claims: SessionClaims, fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * A user's read: as withTenant, but each query of `fn` is its own READ ONLY transaction
   * (Postgres refuses any write in it), sent with its set-up in one message: one round trip
   * a query. Each query reads its own snapshot, as READ COMMITTED gives a transaction's
   * statements anyway.
   */
  readAsTenant<T>(claims: SessionClaims, fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** System work (webhooks, functions): one transaction as `service_role`; filter by org yourself. */
  withService<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * One call of a server-side function in `app` as a statement of its own: no transaction
   * around it, one round trip. The call is made as the connecting role, so only for
   * SECURITY DEFINER functions owned by service_role, whose bodies run as service_role with
   * their own search_path (app.record_call_report, app.settle_call, app.relay_outbox).
   */
  callServiceFunction<R>(name: ServiceFunction, args: readonly unknown[]): Promise<R[]>;
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
      // Counts come back as int8; every count we take fits a JS number. timestamptz is read
      // without regular expressions (the same Dates, faster).
      types: {
        getTypeParser: ((oid: number, format?: "text" | "binary") =>
          oid === INT8_OID
            ? Number
            : oid === TIMESTAMPTZ_OID && format !== "binary"
              ? parseTimestamptz
              : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // An idle connection the server closed (restart, failover, pooler recycling) is dropped
    // and replaced on the next checkout; unhandled, its error would end the process.
    pool.on("error", () => {});
    const dialect = new PostgresDialect({ pool });
    return databaseOver(new Kysely<DB>({ dialect }), "postgres", dialect, pgMessageSession(pool));
  }
  const pglite = await openPglite("dataDir" in location ? location.dataDir : undefined);
  return databaseOverPglite(pglite);
}

export async function openPglite(dataDir?: string): Promise<PGlite> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  // Loaded here, not with this module: importing PGlite costs ~40 MB of RSS, which a
  // process on a PostgreSQL server (DATABASE_URL) would carry for nothing.
  const { PGlite } = await import("@electric-sql/pglite");
  return PGlite.create(dataDir, { parsers: { [INT8_OID]: Number } });
}

/** For a process that shares its PGlite instance (for example with a socket server). */
export function databaseOverPglite(pglite: PGlite): Database {
  const dialect = new PGliteDialect(pglite);
  return databaseOver(new Kysely<DB>({ dialect }), "pglite", dialect, pgliteMessageSession(pglite));
}

// Everything a transaction's visibility depends on is set in it, transaction-local, whatever
// the session holds: a setting left on the session (by a socket client, a pooled connection's
// previous user, ALTER ROLE/DATABASE ... SET) cannot redirect it.
// - both claim settings: Supabase's auth.jwt() reads request.jwt.claim first, then request.jwt.claims;
// - search_path: a schema (or a temporary table: pg_temp listed last) cannot shadow public's tables;
// - row_security: off would turn every policy-checked query into an error.
const SEARCH_PATH = "public, extensions, pg_temp";

/**
 * A transaction's set-up, one statement: with the claims as a literal, it shares a
 * simple-protocol message with BEGIN or with a read's query (one round trip). Role via
 * set_config is SET LOCAL ROLE; everything ends with the transaction, so nothing reaches
 * the next user of a pooled connection (PgBouncer/Supavisor transaction mode too).
 */
function setupAs(role: "authenticated" | "service_role", claims: string): string {
  const token = quoteLiteral(claims);
  return `select set_config('search_path', '${SEARCH_PATH}', true), set_config('row_security', 'on', true),
    set_config('request.jwt.claims', ${token}, true), set_config('request.jwt.claim', ${token}, true),
    set_config('role', '${role}', true)`;
}

function beginAs(role: "authenticated" | "service_role", claims: string): string {
  return `begin read write; ${setupAs(role, claims)}`;
}

/**
 * A tenant's read query as one message: the set-up, read-only, then the query, in the
 * implicit transaction Postgres gives a message of several statements: it commits when the
 * message ends, or rolls back on an error, so the connection is left clean either way.
 */
const tenantReadMessage = (setup: string, query: CompiledQuery) =>
  `${setup}, set_config('transaction_read_only', 'on', true); ${inlineParameters(query.sql, query.parameters)}`;

/** One connection held for a reader's queries, each sent as one simple-protocol message. */
export type MessageSession = <T>(
  fn: (send: (text: string) => Promise<QueryResult<unknown>>) => Promise<T>,
) => Promise<T>;

function pgMessageSession(pool: pg.Pool): MessageSession {
  return async (fn) => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      return await fn(async (text) => {
        try {
          // Several statements answer with a result each; the query's is the last.
          const results = (await client.query(text)) as unknown as pg.QueryResult | pg.QueryResult[];
          const last = Array.isArray(results) ? results.at(-1) : results;
          return { rows: last?.rows ?? [] };
        } catch (error) {
          // Postgres refused the statement and rolled the message back; anything else left
          // the connection in an unknown state, and the pool must not hand it out again.
          if (!(error instanceof pg.DatabaseError)) broken = error as Error;
          throw error;
        }
      });
    } finally {
      client.release(broken);
    }
  };
}

function pgliteMessageSession(pglite: PGlite): MessageSession {
  const lock = sessionLockOf(pglite);
  return async (fn) => {
    const release = await lock.acquire();
    try {
      return await fn(async (text) => ({ rows: (await pglite.exec(text)).at(-1)?.rows ?? [] }));
    } finally {
      release();
    }
  };
}

// No claims: system work filters by org itself and must not act on anyone's token.
const BEGIN_AS_SERVICE = beginAs("service_role", "");

/** A transaction never starts, ends or destroys anything through its driver: the connection's owner does. */
const transactionDriver: Driver = {
  init: async () => {},
  acquireConnection: () => Promise.reject(new Error("a transaction has its connection")),
  beginTransaction: () => Promise.reject(new Error("transactions do not nest")),
  commitTransaction: () => Promise.reject(new Error("the transaction's owner commits it")),
  rollbackTransaction: () => Promise.reject(new Error("the transaction's owner rolls it back")),
  releaseConnection: async () => {},
  destroy: async () => {},
};

function databaseOver(
  owner: Kysely<DB>,
  kind: Database["kind"],
  dialect: Dialect,
  messageSession: MessageSession,
): Database {
  /** Runs `fn` in a transaction begun by `begin` on one connection. */
  const inTransaction = <T>(begin: string, fn: (tx: Tx) => Promise<T>): Promise<T> =>
    owner.connection().execute(async (connection) => {
      try {
        await sql.raw(begin).execute(connection);
      } catch (error) {
        // A set-up that failed after BEGIN leaves an aborted transaction on the connection.
        await sql
          .raw("rollback")
          .execute(connection)
          .catch(() => {});
        throw error;
      }
      let result: T;
      try {
        result = await fn(transactionOver(connection.getExecutor()));
      } catch (error) {
        await sql.raw("rollback").execute(connection);
        throw error;
      }
      await sql.raw("commit").execute(connection);
      return result;
    });
  const transactionOver = (executor: QueryExecutor): Tx =>
    new Transaction<DB>({ config: { dialect }, dialect, driver: transactionDriver, executor });
  return {
    kind,
    owner,
    withTenant: (claims, fn) => inTransaction(beginAs("authenticated", JSON.stringify(claims)), fn),
    readAsTenant: (claims, fn) => {
      const setup = setupAs("authenticated", JSON.stringify(claims));
      return messageSession((send) => {
        const reader: DatabaseConnection = {
          executeQuery: async <R>(query: CompiledQuery) =>
            (await send(tenantReadMessage(setup, query))) as QueryResult<R>,
          streamQuery: () => {
            throw new Error("a tenant read does not stream");
          },
        };
        return fn(transactionOver(owner.getExecutor().withConnectionProvider(new SingleConnectionProvider(reader))));
      });
    },
    withService: (fn) => inTransaction(BEGIN_AS_SERVICE, fn),
    callServiceFunction: async <R>(name: ServiceFunction, args: readonly unknown[]) =>
      (await owner.executeQuery<R>(serviceFunctionCall(name, args))).rows,
    close: () => owner.destroy(),
  };
}
