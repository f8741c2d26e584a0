// The embedded database's socket against the API's own use of the same PGlite session:
// real sockets, the `pg` client (and raw protocol bytes where `pg` cannot misbehave enough).
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Socket, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "./database.ts";
import { type EmbeddedDatabase, startEmbeddedDatabase } from "./embedded.ts";
import { migrate } from "./migrator.ts";
import { insertTwoOrgFixture, memberOf, ORG_A, ORG_B } from "./test-fixture.ts";

/** A port nobody listens on now (found by the OS), so the test also runs against servers that cannot pick one. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Served {
  embedded: EmbeddedDatabase;
  database: Database;
  port: number;
  dispose(): Promise<void>;
}

async function serveMigratedFixture(transactionLimitMs: number): Promise<Served> {
  const dataDir = await mkdtemp(join(tmpdir(), "callflow-socket-"));
  const port = await freePort();
  const embedded = await startEmbeddedDatabase({ dataDir, port, transactionLimitMs });
  await migrate(embedded.database);
  await insertTwoOrgFixture(embedded.database);
  return {
    embedded,
    database: embedded.database,
    port,
    async dispose() {
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function socketClient(port: number): Promise<pg.Client> {
  const client = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
  // A client the server disconnects reports it here; the tests look at its queries instead.
  client.on("error", () => {});
  await client.connect();
  return client;
}

const callOrgs = (database: Database) =>
  database.withTenant(memberOf(ORG_A), (tx) => tx.selectFrom("call_logs").select("organization_id").execute());

const orgExists = async (database: Database, id: string) =>
  (await database.withService((tx) => tx.selectFrom("organizations").select("id").where("id", "=", id).execute()))
    .length > 0;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Frontend protocol messages, written out by hand so the test does not trust the server's own encoder. */
const wire = {
  message(type: string, body: Buffer): Buffer {
    const header = Buffer.alloc(5);
    header.write(type, 0, "latin1");
    header.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([header, body]);
  },
  cstring: (text: string) => Buffer.from(`${text}\0`, "utf8"),
  startup(): Buffer {
    const params = Buffer.concat([wire.cstring("user"), wire.cstring("postgres"), Buffer.from([0])]);
    const head = Buffer.alloc(8);
    head.writeInt32BE(8 + params.length, 0);
    head.writeInt32BE(196608, 4);
    return Buffer.concat([head, params]);
  },
  query: (text: string) => wire.message("Q", wire.cstring(text)),
  parse: (text: string) =>
    wire.message("P", Buffer.concat([wire.cstring(""), wire.cstring(text), Buffer.from([0, 0])])),
  bind: () => wire.message("B", Buffer.concat([wire.cstring(""), wire.cstring(""), Buffer.from([0, 0, 0, 0, 0, 0])])),
  execute: () => wire.message("E", Buffer.concat([wire.cstring(""), Buffer.from([0, 0, 0, 0])])),
  sync: () => wire.message("S", Buffer.alloc(0)),
};

/** A raw connection that collects everything the server sends, and notices when it is closed. */
async function rawConnection(port: number) {
  const socket: Socket = tcpConnect(port, "127.0.0.1");
  socket.on("error", () => {});
  let received = Buffer.alloc(0);
  socket.on("data", (chunk) => {
    received = Buffer.concat([received, chunk]);
  });
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  return {
    socket,
    closed,
    received: () => received,
    send: (bytes: Buffer) => socket.write(bytes),
    async waitFor(predicate: (bytes: Buffer) => boolean, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > deadline) throw new Error(`no expected reply; got ${received.toString("latin1")}`);
        await sleep(10);
      }
    },
  };
}

/** The message types of a backend byte stream, with ReadyForQuery's status: e.g. ["R", "S", "K", "Z:I"]. */
function backendMessages(bytes: Buffer): string[] {
  const types: string[] = [];
  let offset = 0;
  while (offset + 5 <= bytes.length) {
    const type = String.fromCharCode(bytes[offset] ?? 0);
    const length = bytes.readInt32BE(offset + 1);
    if (offset + 1 + length > bytes.length) break;
    types.push(type === "Z" ? `Z:${String.fromCharCode(bytes[offset + 5] ?? 0)}` : type);
    offset += 1 + length;
  }
  return types;
}

describe("the embedded database's socket, with a one-second transaction limit", () => {
  let served: Served;
  beforeAll(async () => {
    served = await serveMigratedFixture(1_000);
  });
  afterAll(() => served?.dispose());

  it("aborts a client that leaves a failed transaction open; the API's transactions then succeed", async () => {
    const client = await socketClient(served.port);
    await client.query("begin");
    await expect(client.query("select 1 / 0")).rejects.toThrow("division by zero");
    const started = Date.now();
    expect(await callOrgs(served.database)).toEqual([{ organization_id: ORG_A }]);
    expect(await orgExists(served.database, ORG_B)).toBe(true);
    // Bounded: the limit (1 s) plus the time to roll back, well under a request timeout.
    expect(Date.now() - started).toBeLessThan(4_000);
    await expect(client.query("select 1")).rejects.toThrow();
    await client.end().catch(() => {});
  });

  it("rolls back a half-sent extended-protocol batch instead of letting the API run (and commit) inside it", async () => {
    const raw = await rawConnection(served.port);
    raw.send(wire.startup());
    await raw.waitFor((bytes) => backendMessages(bytes).includes("Z:I"));
    // Parse, Bind, Execute of an insert, and no Sync: an implicit transaction stays open.
    raw.send(
      Buffer.concat([
        wire.parse("insert into public.organizations (id, name) values ('org_half_batch', 'never committed')"),
        wire.bind(),
        wire.execute(),
      ]),
    );
    await raw.waitFor((bytes) => backendMessages(bytes).includes("C"));
    const started = Date.now();
    expect(await orgExists(served.database, "org_half_batch")).toBe(false);
    expect(Date.now() - started).toBeLessThan(4_000);
    await raw.closed;
    expect(await orgExists(served.database, "org_half_batch")).toBe(false);
  });

  it("keeps serving the API and other clients after a client is aborted", async () => {
    const client = await socketClient(served.port);
    expect((await client.query("select 41 + 1 as answer")).rows).toEqual([{ answer: 42 }]);
    await client.end();
    expect(await callOrgs(served.database)).toEqual([{ organization_id: ORG_A }]);
  });
});

describe("the embedded database's socket, against clients that misbehave", () => {
  let served: Served;
  beforeAll(async () => {
    served = await serveMigratedFixture(60_000);
  });
  afterAll(() => served?.dispose());

  it("refuses COPY FROM STDIN and COPY ... PROGRAM (each stops PGlite) with a reason, and stays up", async () => {
    const client = await socketClient(served.port);
    await expect(client.query("copy public.organizations (id) from stdin")).rejects.toMatchObject({
      code: "0A000",
      message: expect.stringContaining("COPY FROM STDIN"),
    });
    await expect(client.query("copy public.organizations to program 'cat'")).rejects.toMatchObject({ code: "0A000" });
    // Through the extended protocol too: the statement that runs instead fails when executed.
    await expect(client.query("copy public.organizations (id) from stdin where $1", [true])).rejects.toMatchObject({
      code: expect.stringMatching(/^(0A000|08P01)$/),
    });
    expect((await client.query("select count(*)::int as n from public.organizations")).rows).toEqual([{ n: 2 }]);
    await client.end();
    expect(await callOrgs(served.database)).toEqual([{ organization_id: ORG_A }]);
  });

  it("disconnects a client that sends an unknown message type (PGlite would loop on it)", async () => {
    const raw = await rawConnection(served.port);
    raw.send(wire.startup());
    await raw.waitFor((bytes) => backendMessages(bytes).includes("Z:I"));
    raw.send(wire.message("Y", Buffer.alloc(0)));
    await raw.closed;
    expect(backendMessages(raw.received()).at(-1)).toBe("E");
    expect(raw.received().toString("latin1")).toContain("invalid frontend message type");
    expect(await callOrgs(served.database)).toEqual([{ organization_id: ORG_A }]);
  });

  it("disconnects a client whose message is longer than the limit, before reading it", async () => {
    const raw = await rawConnection(served.port);
    raw.send(wire.startup());
    await raw.waitFor((bytes) => backendMessages(bytes).includes("Z:I"));
    const header = Buffer.from([0x51, 0, 0, 0, 0]);
    header.writeInt32BE(2 ** 31 - 1, 1);
    raw.send(header);
    await raw.closed;
    expect(raw.received().toString("latin1")).toContain("over this socket's limit");
  });

  it("answers SSLRequest with N, then starts the session in the clear", async () => {
    const raw = await rawConnection(served.port);
    const sslRequest = Buffer.alloc(8);
    sslRequest.writeInt32BE(8, 0);
    sslRequest.writeInt32BE(80877103, 4);
    raw.send(sslRequest);
    await raw.waitFor((bytes) => bytes.length >= 1);
    expect(raw.received().toString("latin1", 0, 1)).toBe("N");
    raw.send(wire.startup());
    await raw.waitFor((bytes) => backendMessages(bytes.subarray(1)).includes("Z:I"));
    expect(backendMessages(raw.received().subarray(1))).toEqual(expect.arrayContaining(["R", "S", "K", "Z:I"]));
    raw.socket.destroy();
  });

  it("cancels a statement still waiting for the session; the client stays usable", async () => {
    const holder = await socketClient(served.port);
    await holder.query("begin");
    const waiter = await socketClient(served.port);
    const { processID, secretKey } = waiter as unknown as { processID: number; secretKey: number };
    const waiting = waiter.query("select 1 as one").then(
      () => null,
      (error: unknown) => error,
    );
    await sleep(200);
    const cancel = await rawConnection(served.port);
    const request = Buffer.alloc(16);
    request.writeInt32BE(16, 0);
    request.writeInt32BE(80877102, 4);
    request.writeInt32BE(processID, 8);
    request.writeInt32BE(secretKey, 12);
    cancel.send(request);
    await cancel.closed;
    expect(await waiting).toMatchObject({ code: "57014" });
    await holder.query("commit");
    expect((await waiter.query("select 2 as two")).rows).toEqual([{ two: 2 }]);
    await Promise.all([holder.end(), waiter.end()]);
  });

  it("tells a client that its session settings last one transaction, as PgBouncer's transaction mode does", async () => {
    const client = await socketClient(served.port);
    await client.query("set application_name = 'psql'");
    expect((await client.query("show application_name")).rows).toEqual([{ application_name: "" }]);
    await client.query("begin");
    await client.query("set application_name = 'psql'");
    expect((await client.query("show application_name")).rows).toEqual([{ application_name: "psql" }]);
    await client.query("commit");
    await client.end();
  });

  it("keeps the API's queries working after a client's transaction resets the session (DISCARD ALL drops prepared statements)", async () => {
    // orgExists is a transaction whose select has a parameter: a prepared statement of the session.
    expect(await orgExists(served.database, ORG_A)).toBe(true);
    const client = await socketClient(served.port);
    await client.query("begin");
    await client.query("select 1");
    await client.query("commit");
    await client.end();
    expect(await orgExists(served.database, ORG_A)).toBe(true);
  });
});

describe("the embedded database's socket, with a one-minute transaction limit", () => {
  let served: Served;
  beforeAll(async () => {
    served = await serveMigratedFixture(60_000);
  });
  afterAll(() => served?.dispose());

  it("a client's session-level request.jwt.claim does not change what a tenant sees", async () => {
    const client = await socketClient(served.port);
    await client.query(`set request.jwt.claim = '{"org_id":"${ORG_B}","org_role":"org:admin"}'`);
    expect(await callOrgs(served.database)).toEqual([{ organization_id: ORG_A }]);
    await client.end();
    expect(await callOrgs(served.database)).toEqual([{ organization_id: ORG_A }]);
  });

  it("a client's session-level request.jwt.claims reach neither withTenant nor withService", async () => {
    const client = await socketClient(served.port);
    await client.query(`set request.jwt.claims = '{"org_id":"${ORG_B}","org_role":"org:admin"}'`);
    expect(await callOrgs(served.database)).toEqual([{ organization_id: ORG_A }]);
    const serviceOrg = await served.database.withService((tx) =>
      sql<{ org: string | null }>`select app.org_id() as org`.execute(tx),
    );
    expect(serviceOrg.rows).toEqual([{ org: null }]);
    await client.end();
  });

  it.each([["set role anon"], ["set session authorization anon"]])(
    "a client's session-level `%s` changes neither the API's roles nor what it sees",
    async (statement) => {
      const client = await socketClient(served.port);
      await client.query(statement);
      expect(await callOrgs(served.database)).toEqual([{ organization_id: ORG_A }]);
      const owner = await sql<{ role: string }>`select current_user as role`.execute(served.database.owner);
      expect(owner.rows).toEqual([{ role: "postgres" }]);
      const service = await served.database.withService((tx) =>
        sql<{ role: string }>`select current_user as role`.execute(tx),
      );
      expect(service.rows).toEqual([{ role: "service_role" }]);
      await client.end();
    },
  );

  it.each([
    [
      "a forged schema first in search_path",
      `create schema if not exists forged;
       grant usage on schema forged to authenticated, service_role;
       create table if not exists forged.call_logs (id uuid primary key default gen_random_uuid(), organization_id text);
       grant select on forged.call_logs to authenticated, service_role;
       insert into forged.call_logs (organization_id) values ('${ORG_B}'), ('forged');`,
      "set search_path = forged, public",
    ],
    [
      "a temporary call_logs table",
      `create temporary table call_logs (id uuid primary key default gen_random_uuid(), organization_id text);
       grant select on pg_temp.call_logs to authenticated, service_role;
       insert into pg_temp.call_logs (organization_id) values ('${ORG_B}'), ('forged');`,
      "select 1",
    ],
  ])("%s does not redirect a tenant's or the system's queries", async (_, setup, redirect) => {
    const client = await socketClient(served.port);
    await client.query(setup);
    await client.query(redirect);
    expect(await callOrgs(served.database)).toEqual([{ organization_id: ORG_A }]);
    const service = await served.database.withService((tx) =>
      tx.selectFrom("call_logs").select("organization_id").orderBy("organization_id").execute(),
    );
    expect(service).toEqual([{ organization_id: ORG_A }, { organization_id: ORG_B }]);
    await client.end();
  });

  it("never runs the API's work inside a client's transaction: an uncommitted insert stays invisible", async () => {
    const client = await socketClient(served.port);
    await client.query("begin");
    await client.query("insert into public.organizations (id, name) values ('org_uncommitted', 'not yet')");
    const apiRead = orgExists(served.database, "org_uncommitted");
    await sleep(300);
    await client.query("rollback");
    expect(await apiRead).toBe(false);
    expect(await orgExists(served.database, "org_uncommitted")).toBe(false);
    await client.end();
  });

  it("never commits a client's insert with the API's own commit", async () => {
    const client = await socketClient(served.port);
    await client.query("begin");
    await client.query("insert into public.organizations (id, name) values ('org_not_by_api', 'not yet')");
    const apiWrite = served.database.withService((tx) =>
      tx.updateTable("organizations").set({ name: "Fixture A, renamed" }).where("id", "=", ORG_A).execute(),
    );
    await sleep(300);
    await client.query("rollback");
    await apiWrite;
    expect(await orgExists(served.database, "org_not_by_api")).toBe(false);
    const orgA = await served.database.withService((tx) =>
      tx.selectFrom("organizations").select("name").where("id", "=", ORG_A).executeTakeFirstOrThrow(),
    );
    expect(orgA.name).toBe("Fixture A, renamed");
    await client.end();
  });

  it.each([
    ["ends its connection politely (Terminate)", (client: pg.Client) => void client.end()],
    [
      "drops its connection abruptly",
      (client: pg.Client) => (client as unknown as { connection: { stream: Socket } }).connection.stream.destroy(),
    ],
  ])("a client that %s mid-transaction is rolled back and releases the session", async (_, disconnect) => {
    const client = await socketClient(served.port);
    await client.query("begin");
    await client.query("insert into public.organizations (id, name) values ('org_left_behind', 'rolled back')");
    const started = Date.now();
    const apiRead = orgExists(served.database, "org_left_behind");
    await sleep(200);
    disconnect(client);
    expect(await apiRead).toBe(false);
    // Far sooner than the one-minute limit: the disconnect released it.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await orgExists(served.database, "org_left_behind")).toBe(false);
  });

  it("serves psql-style use: simple and extended queries, a committed transaction, catalog queries", async () => {
    const client = await socketClient(served.port);
    expect((await client.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
    expect((await client.query("select $1::int + 1 as two, $2::text as word", [1, "hi"])).rows).toEqual([
      { two: 2, word: "hi" },
    ]);
    await client.query({
      name: "org-by-id",
      text: "select name from public.organizations where id = $1",
      values: [ORG_B],
    });
    await client.query("begin");
    await client.query("insert into public.organizations (id, name) values ('org_from_psql', 'committed')");
    await client.query("commit");
    expect(await orgExists(served.database, "org_from_psql")).toBe(true);
    // What psql's \dt and \d call_logs ask.
    const tables = await client.query(`
      select n.nspname as schema, c.relname as name
      from pg_catalog.pg_class c left join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and n.nspname = 'public' and pg_catalog.pg_table_is_visible(c.oid)
      order by 1, 2`);
    expect(tables.rows.map((row) => row.name)).toEqual(expect.arrayContaining(["call_logs", "organizations"]));
    const columns = await client.query(
      `select a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) as type, a.attnotnull
       from pg_catalog.pg_attribute a
       where a.attrelid = (select c.oid from pg_catalog.pg_class c
                           left join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                           where c.relname operator(pg_catalog.~) '^(call_logs)$' collate pg_catalog.default
                             and n.nspname operator(pg_catalog.~) '^(public)$' collate pg_catalog.default)
         and a.attnum > 0 and not a.attisdropped
       order by a.attnum`,
    );
    expect(columns.rows[0]).toEqual({ attname: "id", type: "uuid", attnotnull: true });
    await client.end();
  });
});

describe("the embedded database by default", () => {
  it("is not served on any port", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "callflow-socket-off-"));
    const embedded = await startEmbeddedDatabase({ dataDir });
    try {
      expect(embedded.url).toBeNull();
    } finally {
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
