// A query with parameters, run on PGlite as a named prepared statement: parsed, analysed and
// described once per SQL text, then one trip into PGlite a call (Bind, Describe, Execute,
// Sync). PGlite's own query() makes six trips (Parse, Describe, Bind, Describe, Execute,
// Sync) and parses and plans every time, at about twice the CPU a statement; the local
// product's burst of calls (bench/after-call.ts) took a third less CPU a call with this.
// PostgreSQL keeps a prepared statement right as things change under it: DDL and new
// statistics replan it, and so do another role, row_security or search_path (the plan cache
// checks each before it uses a plan).
import type { PGlite, Results } from "@electric-sql/pglite";

// PGlite's protocol helpers, imported when the first statement is prepared: a process on a
// PostgreSQL server loads this module with packages/db but never PGlite (database.ts).
type PgliteModule = typeof import("@electric-sql/pglite");
let pgliteModule: PgliteModule | undefined;

/**
 * Distinct texts kept prepared; past this, a text runs through PGlite's query() as before. The
 * product has about fifty (a burst of calls used 46); the bound keeps PGlite's memory, which
 * never shrinks, from growing with texts made at run time.
 */
const MAX_PREPARED_STATEMENTS = 500;

/**
 * Why a prepared text must be prepared again, if it must: the session lost the statement (a
 * DISCARD or DEALLOCATE we did not see), or a table under a `select *` changed shape.
 */
function staleness(error: unknown): "gone" | "changed" | null {
  const { code, message } = error as { code?: string; message?: string };
  if (code === "26000") return "gone";
  return code === "0A000" && message === "cached plan must not change result type" ? "changed" : null;
}

interface Prepared {
  name: string;
  /** The parameters' type oids, from PostgreSQL's description: each value is serialized for its type, as query() does. */
  paramTypes: number[];
}

export class PreparedStatements {
  // Names are never reused: a statement forgotten here may still exist in the session.
  #named = 0;
  readonly #byText = new Map<string, Promise<Prepared>>();

  constructor(
    private readonly pglite: PGlite,
    private readonly limit = MAX_PREPARED_STATEMENTS,
  ) {}

  /** Runs `text` with `values`; the caller holds the session (the session lock). */
  async query<R>(text: string, values: readonly unknown[]): Promise<Results<R>> {
    try {
      return await this.#run<R>(text, values);
    } catch (error) {
      const stale = staleness(error);
      if (!stale) throw error;
      if (stale === "gone") this.forget();
      else this.#byText.delete(text);
      // Refused at Bind, before it ran: outside a transaction block nothing is aborted and the
      // statement can run again, prepared anew. Inside one, the transaction already failed.
      if (this.pglite.isInTransaction()) throw error;
      return this.#run<R>(text, values);
    }
  }

  /** Drops every statement from the cache: the session's were deallocated (DISCARD ALL, DEALLOCATE). */
  forget(): void {
    this.#byText.clear();
  }

  async #run<R>(text: string, values: readonly unknown[]): Promise<Results<R>> {
    const prepared = this.#preparedFor(text);
    return prepared ? this.#execute<R>(await prepared, values) : this.pglite.query<R>(text, values as unknown[]);
  }

  #preparedFor(text: string): Promise<Prepared> | null {
    let prepared = this.#byText.get(text);
    if (prepared) return prepared;
    if (this.#byText.size >= this.limit) return null;
    prepared = this.#prepare(text);
    this.#byText.set(text, prepared);
    // A text PostgreSQL refused (a syntax error) is not kept: the next call sees the error again.
    prepared.catch(() => {
      if (this.#byText.get(text) === prepared) this.#byText.delete(text);
    });
    return prepared;
  }

  async #prepare(text: string): Promise<Prepared> {
    this.#named += 1;
    const name = `callflow_${this.#named}`;
    pgliteModule ??= await import("@electric-sql/pglite");
    const { serialize } = pgliteModule.protocol;
    const messages = await this.#send([
      serialize.parse({ name, text, types: [] }),
      serialize.describe({ type: "S", name }),
      serialize.sync(),
    ]);
    return { name, paramTypes: pgliteModule.parse.parseDescribeStatementResults(messages) };
  }

  async #execute<R>({ name, paramTypes }: Prepared, values: readonly unknown[]): Promise<Results<R>> {
    // Set by #prepare, which every statement went through first.
    const { protocol, parse } = pgliteModule as PgliteModule;
    const { serializers, parsers } = this.pglite;
    const serialized = values.map((value, index) => {
      if (value === null || value === undefined) return null;
      const serializer = serializers[paramTypes[index] ?? 0];
      return serializer ? serializer(value) : String(value);
    });
    const { serialize } = protocol;
    const messages = await this.#send([
      serialize.bind({ statement: name, values: serialized }),
      serialize.describe({ type: "P" }),
      serialize.execute({}),
      serialize.sync(),
    ]);
    return parse.parseResults(messages, parsers)[0] as Results<R>;
  }

  // execProtocolStream, not execProtocol: the socket server's streamed answers leave PGlite's
  // stream callback set, and a plain execProtocol would hand this answer to it.
  #send(parts: Uint8Array[]) {
    const message = Buffer.concat(parts);
    return this.pglite.runExclusive(() => this.pglite.execProtocolStream(message));
  }
}

const statements = new WeakMap<PGlite, PreparedStatements>();

/** The prepared statements of this PGlite instance's session, shared by everything that uses the instance. */
export function preparedStatementsOf(pglite: PGlite): PreparedStatements {
  let prepared = statements.get(pglite);
  if (!prepared) {
    prepared = new PreparedStatements(pglite);
    statements.set(pglite, prepared);
  }
  return prepared;
}
