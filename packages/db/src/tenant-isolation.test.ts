// The same isolation the pgTAP suite proves, here through withTenant, for every table
// in `public` as the catalog lists it: a new table is covered without anyone adding it.
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "./database.ts";
import { listPublicTables } from "./rls-audit.ts";
import { migratedDatabase, type ScratchDatabase, testLanes } from "./test-databases.ts";
import { adminOf, insertTwoOrgFixture, ORG_A, ORG_B } from "./test-fixture.ts";

// The tables are read from a migrated schema so that each gets its own tests.
const catalog = await migratedDatabase("pglite");
const tables = await listPublicTables(catalog.database);
await catalog.dispose();

const errorCode = (error: unknown) => (error as { code?: string }).code;

/** Runs `statement` as `claims`; the rows it affected, or the SQLSTATE it failed with. */
async function outcome(database: Database, claims: Parameters<Database["withTenant"]>[0], statement: string) {
  try {
    const result = await database.withTenant(claims, (tx) => sql.raw(statement).execute(tx));
    return { rows: Number(result.numAffectedRows ?? result.rows.length) };
  } catch (error) {
    return { error: errorCode(error) };
  }
}

async function countsByOrg(database: Database, table: string, orgColumn: string) {
  const result = await database.withService((tx) =>
    sql<{
      org: string;
      n: number;
    }>`select ${sql.ref(orgColumn)} as org, count(*)::int as n from ${sql.table(`public.${table}`)} group by 1`.execute(
      tx,
    ),
  );
  return Object.fromEntries(result.rows.map((row) => [row.org, row.n]));
}

describe.each(testLanes())("tenant isolation on %s", (lane) => {
  let scratch: ScratchDatabase;
  let database: Database;

  beforeAll(async () => {
    scratch = await migratedDatabase(lane);
    database = scratch.database;
    await insertTwoOrgFixture(database);
  });
  afterAll(() => scratch?.dispose());

  it("scopes every public table to an org", () => {
    expect(tables.filter((table) => table.orgColumn === null).map((table) => table.name)).toEqual([]);
  });

  describe.each(tables)("$name", (table) => {
    const org = table.orgColumn ?? "organization_id";
    const ref = `public.${table.name}`;

    it("has fixture rows for both orgs", async () => {
      const counts = await countsByOrg(database, table.name, org);
      expect(counts[ORG_A]).toBeGreaterThan(0);
      expect(counts[ORG_B]).toBeGreaterThan(0);
    });

    it.each(["v1", "v2"] as const)("shows org A (%s token) its own rows and none of org B's", async (format) => {
      const counts = await countsByOrg(database, table.name, org);
      const visible = await database.withTenant(adminOf(ORG_A, format), (tx) =>
        sql<{ org: string }>`select ${sql.ref(org)} as org from ${sql.table(ref)}`.execute(tx),
      );
      expect(visible.rows.length).toBe(counts[ORG_A]);
      expect(new Set(visible.rows.map((row) => row.org))).toEqual(new Set([ORG_A]));
    });

    it("refuses org A an insert of a row belonging to org B", async () => {
      const template = await database.withService((tx) =>
        sql<{
          row: Record<string, unknown>;
        }>`select to_jsonb(t) as row from ${sql.table(ref)} t where ${sql.ref(org)} = ${ORG_B} limit 1`.execute(tx),
      );
      const row = { ...template.rows[0]?.row };
      if (table.hasIdColumn && table.name !== "organizations") row.id = crypto.randomUUID();
      const insert = `insert into ${ref} select * from jsonb_populate_record(null::${ref}, '${JSON.stringify(row).replaceAll("'", "''")}'::jsonb)`;
      expect(await outcome(database, adminOf(ORG_A), insert)).toEqual({ error: "42501" });
    });

    it("changes and removes none of org B's rows for org A", async () => {
      const before = await countsByOrg(database, table.name, org);
      for (const statement of [
        `update ${ref} set ${org} = ${org} where ${org} = '${ORG_B}'`,
        `update ${ref} set ${org} = ${org}`,
        `delete from ${ref} where ${org} = '${ORG_B}'`,
        `delete from ${ref} where ${org} <> '${ORG_A}'`,
      ]) {
        const result = await outcome(database, adminOf(ORG_A), statement);
        // Either no privilege at all, or the policy leaves B's rows out of reach.
        if ("error" in result) expect(result.error).toBe("42501");
        else if (statement.startsWith("update") && !statement.includes("where"))
          expect(result.rows).toBe(before[ORG_A]);
        else expect(result.rows).toBe(0);
      }
      expect(await countsByOrg(database, table.name, org)).toEqual(before);
    });

    it("moves none of org A's rows to org B", async () => {
      const before = await countsByOrg(database, table.name, org);
      const result = await outcome(
        database,
        adminOf(ORG_A),
        `update ${ref} set ${org} = '${ORG_B}' where ${org} = '${ORG_A}'`,
      );
      if ("error" in result) expect(["42501", "23503"]).toContain(result.error);
      else expect(result.rows).toBe(0);
      expect(await countsByOrg(database, table.name, org)).toEqual(before);
    });
  });
});
