import { readFile } from "node:fs/promises";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findRowLevelSecurityGaps } from "./rls-audit.ts";
import { GENERATED_TYPES_FILE, renderSchemaTypes } from "./schema-types.ts";
import { migratedDatabase, type ScratchDatabase } from "./test-databases.ts";

describe("the migrated schema", () => {
  let scratch: ScratchDatabase;
  beforeAll(async () => {
    scratch = await migratedDatabase("pglite");
  });
  afterAll(() => scratch?.dispose());

  it("matches the committed Kysely types (run `pnpm --filter @callflow/db generate-types`)", async () => {
    expect(await renderSchemaTypes(scratch.database)).toBe(await readFile(GENERATED_TYPES_FILE, "utf8"));
  });

  it("has row level security and a policy on every public table", async () => {
    expect(await findRowLevelSecurityGaps(scratch.database)).toEqual([]);
  });

  it("reports a table added without row level security or policies", async () => {
    await sql
      .raw(
        `create table public.forgotten (id int primary key, organization_id text);
         create table public.half_done (id int primary key, organization_id text);
         alter table public.half_done enable row level security;`,
      )
      .execute(scratch.database.owner);
    expect(await findRowLevelSecurityGaps(scratch.database)).toEqual([
      "forgotten: row level security is disabled",
      "half_done: no policy",
    ]);
    await sql.raw("drop table public.forgotten, public.half_done").execute(scratch.database.owner);
  });
});
