import type { PGlite, Results } from "@electric-sql/pglite";
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from "kysely";
import { type ReleaseSession, type SessionLock, sessionLockOf } from "./pglite-session-lock.ts";
import { type PreparedStatements, preparedStatementsOf } from "./pglite-statements.ts";

// A script that drops the session's prepared statements: the cache must forget them too (the
// word in a comment matches as well, and costs only preparing again).
const DROPS_PREPARED = /\b(discard|deallocate)\b/i;

class PGliteConnection implements DatabaseConnection {
  readonly #prepared: PreparedStatements;

  constructor(private readonly pglite: PGlite) {
    this.#prepared = preparedStatementsOf(pglite);
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    // Without parameters the simple protocol is used, which also runs multi-statement
    // scripts (migrations); its last statement's result is the query's result. With them,
    // a prepared statement per text.
    let result: Results<R> | undefined;
    if (query.parameters.length === 0) {
      result = (await this.pglite.exec(query.sql)).at(-1) as Results<R> | undefined;
      if (DROPS_PREPARED.test(query.sql)) this.#prepared.forget();
    } else {
      result = await this.#prepared.query<R>(query.sql, query.parameters);
    }
    const affected = result?.affectedRows;
    return {
      rows: (result?.rows ?? []) as R[],
      numAffectedRows: affected === undefined ? undefined : BigInt(affected),
    };
  }

  // biome-ignore lint/correctness/useYield: streaming is not offered by PGlite
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("streaming queries are not supported on PGlite");
  }
}

/**
 * PGlite is one connection: a transaction must hold it exclusively from BEGIN to COMMIT,
 * so connections are handed out one at a time, in order, under the session lock that the
 * embedded database's socket clients take too.
 */
class PGliteDriver implements Driver {
  readonly #connection: PGliteConnection;
  readonly #lock: SessionLock;
  #release: ReleaseSession | undefined;

  constructor(private readonly pglite: PGlite) {
    this.#connection = new PGliteConnection(pglite);
    this.#lock = sessionLockOf(pglite);
  }

  async init(): Promise<void> {
    await this.pglite.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    this.#release = await this.#lock.acquire();
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin"));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("commit"));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("rollback"));
  }

  async destroy(): Promise<void> {
    await this.pglite.close();
  }
}

export class PGliteDialect implements Dialect {
  constructor(private readonly pglite: PGlite) {}
  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver() {
    return new PGliteDriver(this.pglite);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
  createIntrospector(db: Parameters<Dialect["createIntrospector"]>[0]) {
    return new PostgresIntrospector(db);
  }
}
