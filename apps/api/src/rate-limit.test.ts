// The rate limits in Postgres: a fixed window per key and limit, counted once per take, the
// same count for every API process (on the server lane: separate connection pools, as two
// processes have), windows that end start again, and ended windows are deleted.
import { type Database, openDatabase } from "@callflow/db";
import { migratedDatabase, type ScratchDatabase, testLanes } from "@callflow/db/testing";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRateLimiter } from "./rate-limit.ts";

describe.each(testLanes())("rate limits in the database (%s)", (lane) => {
  let scratch: ScratchDatabase;
  // The second API process's own pool on the server lane; the same PGlite otherwise.
  let other: Database;
  beforeAll(async () => {
    scratch = await migratedDatabase(lane);
    other = scratch.url ? await openDatabase({ databaseUrl: scratch.url, poolSize: 4 }) : scratch.database;
  });
  afterAll(async () => {
    if (other !== scratch.database) await other.close();
    await scratch.dispose();
  });

  it("shares one count between two processes' limiters, also when they take at once", async () => {
    const first = createRateLimiter({ database: scratch.database, bucket: "trpc", limit: 10 });
    const second = createRateLimiter({ database: other, bucket: "trpc", limit: 10 });
    const takes = Array.from({ length: 16 }, (_, i) => (i % 2 ? first : second).take("user_1:org_1"));
    const results = await Promise.all(takes);
    expect(results.filter((wait) => wait === 0)).toHaveLength(10);
    const refused = results.filter((wait) => wait > 0);
    expect(refused).toHaveLength(6);
    for (const wait of refused) expect(wait).toBeGreaterThanOrEqual(59);
    // Another key, and the same key under another limit, count apart.
    expect(await first.take("user_2:org_1")).toBe(0);
    const anonymous = createRateLimiter({ database: other, bucket: "anonymous", limit: 1 });
    expect(await anonymous.take("user_1:org_1")).toBe(0);
    expect(await anonymous.take("user_1:org_1")).toBeGreaterThan(0);
  });

  it("takes a busy key's permits in blocks: a statement per block, never more than the limit in all", async () => {
    const statements: number[] = [];
    const counted = (database: Database, index: number): Database => ({
      ...database,
      callServiceFunction: (name, args) => {
        statements[index] = (statements[index] ?? 0) + 1;
        return database.callServiceFunction(name, args);
      },
    });
    // One process: 1, 2, 4 … up to a tenth of the limit; 300 takes in 9 statements.
    const alone = createRateLimiter({ database: counted(scratch.database, 0), bucket: "blocks", limit: 1_000 });
    for (let i = 0; i < 300; i++) expect(await alone.take("busy")).toBe(0);
    expect(statements[0]).toBe(9);
    // Two processes taking at once, 150 each against a limit of 100: never more than 100 allowed,
    // and at most a block (10) each left unspent when the window fills.
    const first = createRateLimiter({ database: counted(scratch.database, 1), bucket: "shared", limit: 100 });
    const second = createRateLimiter({ database: counted(other, 2), bucket: "shared", limit: 100 });
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => (i % 2 ? first : second).take("busy")));
    const allowed = results.filter((wait) => wait === 0).length;
    expect(allowed).toBeLessThanOrEqual(100);
    expect(allowed).toBeGreaterThanOrEqual(80);
    for (const wait of results.filter((wait) => wait > 0)) expect(wait).toBeGreaterThanOrEqual(59);
    expect((statements[1] ?? 0) + (statements[2] ?? 0)).toBeLessThan(40);
    const { rows } = await sql<{ hits: number }>`select hits from app.rate_limits
      where bucket = 'shared' and key = 'busy'`.execute(scratch.database.owner);
    expect(rows[0]?.hits).toBeGreaterThanOrEqual(100);
  });

  it("tells waitFor of its own refusals only, until the window resets", async () => {
    const first = createRateLimiter({ database: scratch.database, bucket: "hint", limit: 1, windowMs: 1_500 });
    const second = createRateLimiter({ database: other, bucket: "hint", limit: 1, windowMs: 1_500 });
    expect(await first.take("10.0.0.1")).toBe(0);
    expect(first.waitFor("10.0.0.1")).toBe(0);
    const wait = await second.take("10.0.0.1");
    expect(wait).toBeGreaterThan(0);
    expect(second.waitFor("10.0.0.1")).toBe(wait);
    expect(first.waitFor("10.0.0.1")).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect(second.waitFor("10.0.0.1")).toBe(0);
    // The window ended: the count starts again.
    expect(await second.take("10.0.0.1")).toBe(0);
    expect(await first.take("10.0.0.1")).toBeGreaterThan(0);
  });

  it("deletes windows that ended, now and then, and keeps those still running", async () => {
    const short = createRateLimiter({ database: scratch.database, bucket: "short", limit: 5, windowMs: 200 });
    await short.take("ended");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const cleaning = createRateLimiter({ database: other, bucket: "cleanup", limit: 5, cleanupEvery: 2 });
    await cleaning.take("running");
    await cleaning.take("running");
    const keys = async () => {
      const { rows } = await sql<{ key: string }>`select key from app.rate_limits
        where bucket in ('short', 'cleanup') order by key`.execute(scratch.database.owner);
      return rows.map((row) => row.key);
    };
    // The cleanup runs beside the take that started it.
    for (let i = 0; i < 50 && (await keys()).includes("ended"); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await keys()).toEqual(["running"]);
  });

  it("keeps no grant for the API's user roles", async () => {
    const { rows } = await sql<{ grantee: string }>`select distinct grantee from information_schema.role_table_grants
      where table_schema = 'app' and table_name = 'rate_limits' order by grantee`.execute(scratch.database.owner);
    const grantees = rows.map((row) => row.grantee);
    expect(grantees).toContain("service_role");
    expect(grantees).not.toContain("anon");
    expect(grantees).not.toContain("authenticated");
  });
});
