import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, databaseOverPglite, openDatabase, openPglite, type Tx } from "./database.ts";
import { migrate } from "./migrator.ts";
import { bareDatabase, migratedDatabase, type ScratchDatabase, testLanes } from "./test-databases.ts";
import { adminOf, insertTwoOrgFixture, memberOf, ORG_A, ORG_B } from "./test-fixture.ts";

const session = (database: Database, claims: Parameters<Database["withTenant"]>[0]) =>
  database.withTenant(claims, async (tx) => {
    const result = await sql<{ role: string; org: string | null; admin: boolean }>`
      select current_user as role, app.org_id() as org, app.is_org_admin() as admin`.execute(tx);
    return result.rows[0];
  });

describe.each(testLanes())("withTenant and withService on %s", (lane) => {
  let scratch: ScratchDatabase;
  let database: Database;
  beforeAll(async () => {
    scratch = await migratedDatabase(lane);
    database = scratch.database;
    await insertTwoOrgFixture(database);
  });
  afterAll(() => scratch?.dispose());

  it.each([
    ["v1 admin", adminOf(ORG_A, "v1"), true],
    ["v2 admin", adminOf(ORG_A, "v2"), true],
    ["v1 member", memberOf(ORG_A, "v1"), false],
    ["v2 member", memberOf(ORG_A, "v2"), false],
  ] as const)("reads the org and role of a %s token", async (_, claims, admin) => {
    expect(await session(database, claims)).toEqual({ role: "authenticated", org: ORG_A, admin });
  });

  it("binds the claims as data, whatever they contain", async () => {
    const claims = { sub: "user'); drop table public.call_logs; --", o: { id: "org_'x", rol: "member" } };
    expect(await session(database, claims)).toEqual({ role: "authenticated", org: "org_'x", admin: false });
    const calls = await database.withService((tx) => tx.selectFrom("call_logs").select("id").execute());
    expect(calls).toHaveLength(2);
  });

  it.each([
    ["quotes and backslashes", { sub: "a'b\\'c\\\\", o: { id: ORG_A, rol: "member" } }],
    ["an E'' breakout", { sub: "x\\'; set role postgres; select E'", o: { id: ORG_A, rol: "member" } }],
    ["unicode and escapes", { sub: "ñ\u2028\n\t\u0001", o: { id: ORG_A, rol: "member" } }],
  ])("sends claims with %s as the literal they are (the set-up is one simple-protocol message)", async (_, claims) => {
    for (const run of [database.withTenant, database.readAsTenant]) {
      const seen = await run(claims, async (tx) => {
        const result = await sql<{ claims: string; role: string }>`
          select current_setting('request.jwt.claims') as claims, current_user as role`.execute(tx);
        return result.rows[0];
      });
      expect(seen).toEqual({ claims: JSON.stringify(claims), role: "authenticated" });
    }
  });

  it("reads as the tenant in a read-only transaction that Postgres keeps read-only", async () => {
    const rows = await database.readAsTenant(memberOf(ORG_B), (tx) =>
      tx.selectFrom("call_logs").select("organization_id").execute(),
    );
    expect(rows).toEqual([{ organization_id: ORG_B }]);
    await expect(
      database.readAsTenant(adminOf(ORG_A), (tx) =>
        tx.updateTable("organizations").set({ name: "written in a read" }).where("id", "=", ORG_A).execute(),
      ),
    ).rejects.toThrow(/read-only transaction/);
    const org = await database.withService((tx) =>
      tx.selectFrom("organizations").select("name").where("id", "=", ORG_A).executeTakeFirstOrThrow(),
    );
    expect(org.name).not.toBe("written in a read");
  });

  it("leaves no claims, role or read-only mode behind after a read, whether it succeeds or fails", async () => {
    // One connection: what runs after the reads runs on the session they used.
    const single = scratch.url ? await openDatabase({ databaseUrl: scratch.url, poolSize: 1 }) : database;
    try {
      const [read, failed, after] = await Promise.all([
        single.readAsTenant(memberOf(ORG_A), (tx) => tx.selectFrom("call_logs").select("organization_id").execute()),
        single.readAsTenant(memberOf(ORG_A), (tx) => sql`select 1 / 0`.execute(tx)).catch((error: Error) => error),
        single.withService(async (tx) => {
          const result = await sql<{ role: string; claims: string; readOnly: string }>`
            select current_user as role, current_setting('request.jwt.claims') as claims,
                   current_setting('transaction_read_only') as "readOnly"`.execute(tx);
          await tx.updateTable("organizations").set({ name: "Org B" }).where("id", "=", ORG_B).execute();
          return result.rows[0];
        }),
      ]);
      expect(read).toEqual([{ organization_id: ORG_A }]);
      expect(failed).toMatchObject({ code: "22012" });
      expect(after).toEqual({ role: "service_role", claims: "", readOnly: "off" });
    } finally {
      if (single !== database) await single.close();
    }
  });

  it("leaves no claims or role behind when the transaction ends", async () => {
    await session(database, adminOf(ORG_A));
    const after = await sql<{ role: string; claims: string | null }>`
      select current_user as role, nullif(current_setting('request.jwt.claims', true), '') as claims`.execute(
      database.owner,
    );
    expect(after.rows[0]?.claims).toBeNull();
    expect(after.rows[0]?.role).not.toBe("authenticated");
    const orgB = await database.withTenant(memberOf(ORG_B), (tx) =>
      tx.selectFrom("call_logs").select("organization_id").execute(),
    );
    expect(orgB).toEqual([{ organization_id: ORG_B }]);
  });

  it("pins claims, role, search_path and row security whatever the session was left with", async () => {
    // One connection, so the session that is dirtied is the one the transactions run on.
    const single = scratch.url ? await openDatabase({ databaseUrl: scratch.url, poolSize: 1 }) : database;
    const forged = `{"org_id":"${ORG_B}","org_role":"org:admin"}`;
    try {
      await sql
        .raw(
          `create schema if not exists forged_session;
           create table if not exists forged_session.call_logs (id uuid primary key, organization_id text);
           grant usage on schema forged_session to authenticated, service_role;
           grant select on forged_session.call_logs to authenticated, service_role;
           create temporary table if not exists call_logs (id uuid primary key, organization_id text);
           grant select on pg_temp.call_logs to authenticated, service_role;
           insert into forged_session.call_logs values (gen_random_uuid(), 'forged');
           insert into pg_temp.call_logs values (gen_random_uuid(), 'forged');
           set request.jwt.claim = '${forged}';
           set request.jwt.claims = '${forged}';
           set search_path = forged_session, public;
           set row_security = off;
           set role anon;`,
        )
        .execute(single.owner);
      const tenant = await single.withTenant(memberOf(ORG_A), (tx) =>
        tx.selectFrom("call_logs").select("organization_id").execute(),
      );
      expect(tenant).toEqual([{ organization_id: ORG_A }]);
      const service = await single.withService(async (tx) => ({
        org: (await sql<{ org: string | null }>`select app.org_id() as org`.execute(tx)).rows[0]?.org,
        calls: await tx.selectFrom("call_logs").select("organization_id").orderBy("organization_id").execute(),
      }));
      expect(service).toEqual({ org: null, calls: [{ organization_id: ORG_A }, { organization_id: ORG_B }] });
    } finally {
      await sql.raw("discard all").execute(single.owner);
      if (single !== database) await single.close();
    }
  });

  it("rolls back everything when the work fails", async () => {
    await expect(
      database.withTenant(adminOf(ORG_A), async (tx) => {
        await tx.updateTable("organizations").set({ name: "half-written" }).where("id", "=", ORG_A).execute();
        throw new Error("handler failed");
      }),
    ).rejects.toThrow("handler failed");
    const org = await database.withService((tx) =>
      tx.selectFrom("organizations").select("name").where("id", "=", ORG_A).executeTakeFirstOrThrow(),
    );
    expect(org.name).not.toBe("half-written");
  });

  it("sees nothing without an org in the token", async () => {
    const rows = await database.withTenant({ sub: "user_without_org" }, (tx) =>
      tx.selectFrom("call_logs").selectAll().execute(),
    );
    expect(rows).toEqual([]);
  });

  it("runs system work as service_role across orgs", async () => {
    const result = await database.withService(async (tx) => ({
      role: (await sql<{ role: string }>`select current_user as role`.execute(tx)).rows[0]?.role,
      orgs: (await tx.selectFrom("organizations").select("id").orderBy("id").execute()).map((row) => row.id),
    }));
    expect(result).toEqual({ role: "service_role", orgs: [ORG_A, ORG_B] });
  });

  it("keeps consent state in step with the ledger", async () => {
    const contact = await database.withTenant(memberOf(ORG_A), async (tx) => {
      const { id } = await tx
        .insertInto("contacts")
        .values({ organization_id: ORG_A, e164: "+15550999001", name: "Caller" })
        .returning("id")
        .executeTakeFirstOrThrow();
      await tx
        .insertInto("consent_events")
        .values({
          organization_id: ORG_A,
          contact_id: id,
          action: "opt_out",
          evidence: JSON.stringify({ reason: "asked on the phone" }),
        })
        .execute();
      const entry = await tx
        .selectFrom("consent_events")
        .select(["actor", "source", "channel"])
        .where("contact_id", "=", id)
        .executeTakeFirstOrThrow();
      const state = await tx
        .selectFrom("contacts")
        .select(["opted_out_at", "opted_in_at"])
        .where("id", "=", id)
        .executeTakeFirstOrThrow();
      return { ...state, entry };
    });
    expect(contact.opted_out_at).toBeInstanceOf(Date);
    expect(contact.opted_in_at).toBeNull();
    // Who and through what come from the server: the member's token, the dashboard.
    expect(contact.entry).toEqual({ actor: memberOf(ORG_A).sub, source: "dashboard", channel: "dashboard" });
  });
});

describe("exchanges of a tenant's transaction (embedded: one exec or query call is one round trip)", () => {
  let database: Database;
  let calls: string[] = [];
  beforeAll(async () => {
    const pglite = await openPglite();
    const counted = new Proxy(pglite, {
      get(target, property) {
        const value = Reflect.get(target, property);
        if (property === "exec" || property === "query")
          return (text: string, ...rest: unknown[]) => {
            calls.push(text);
            return (value as (...args: unknown[]) => unknown).call(target, text, ...rest);
          };
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    database = databaseOverPglite(counted);
    await migrate(database);
    await insertTwoOrgFixture(database);
  });
  afterAll(() => database?.close());

  const page = (tx: Tx) => tx.selectFrom("call_logs").select("organization_id").execute();
  const verbs = () => calls.map((text) => text.trimStart().split(/\s/)[0]);

  it("sends a read's query with its set-up as one message; a write's BEGIN with the set-up, then its queries and COMMIT", async () => {
    calls = [];
    await database.readAsTenant(memberOf(ORG_A), page);
    await database.withTenant(memberOf(ORG_A), page);
    await database.withService(page);
    expect(verbs()).toEqual(["select", "begin", "select", "commit", "begin", "select", "commit"]);
    expect(calls[0]).toMatch(/set_config\('role', 'authenticated', true\).*transaction_read_only.*from "call_logs"/s);
  });

  it("sends each query of a read in a message of its own, each with the set-up", async () => {
    calls = [];
    const [a, b] = await database.readAsTenant(memberOf(ORG_B), async (tx) => [await page(tx), await page(tx)]);
    expect([a, b]).toEqual([[{ organization_id: ORG_B }], [{ organization_id: ORG_B }]]);
    expect(calls).toHaveLength(2);
    for (const text of calls) expect(text).toContain(`"id":"${ORG_B}"`);
  });
});

describe.each(testLanes())("bootstrap on a bare %s database", (lane) => {
  let scratch: ScratchDatabase;
  beforeAll(async () => {
    scratch = await bareDatabase(lane);
  });
  afterAll(() => scratch?.dispose());

  it("creates what Supabase provides, and keeps what is already there", async () => {
    const owner = scratch.database.owner;
    // A database that already has its own auth.jwt() (as Supabase does) keeps it.
    await sql
      .raw(
        `create schema if not exists auth;
         create function auth.jwt() returns jsonb language sql stable as $$ select '{"org_id":"from_existing"}'::jsonb $$;`,
      )
      .execute(owner);
    await migrate(scratch.database);
    const roles = await sql<{ rolname: string; rolbypassrls: boolean }>`
      select rolname, rolbypassrls from pg_roles where rolname in ('anon', 'authenticated', 'service_role') order by rolname`.execute(
      owner,
    );
    expect(roles.rows).toEqual([
      { rolname: "anon", rolbypassrls: false },
      { rolname: "authenticated", rolbypassrls: false },
      { rolname: "service_role", rolbypassrls: true },
    ]);
    const org = await sql<{ org: string }>`select app.org_id() as org`.execute(owner);
    expect(org.rows[0]?.org).toBe("from_existing");
  });
});
