// The PostgreSQL server the benchmarks run on, and the databases they make on it.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { openDatabase } from "@callflow/db";
import { sql } from "kysely";
import { benchEnv } from "./env.ts";

/** BENCH_DATABASE_URL, else the server `bash scripts/pg-server.sh` prepares. */
export function serverUrl(): string {
  if (benchEnv.BENCH_DATABASE_URL) return benchEnv.BENCH_DATABASE_URL;
  const script = fileURLToPath(new URL("../scripts/pg-server.sh", import.meta.url));
  const url = execFileSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
    .trim()
    .split("\n")
    .at(-1);
  if (!url?.startsWith("postgres")) throw new Error("scripts/pg-server.sh printed no URL");
  return url;
}

/** The URL of database `name` next to serverUrl(), created when missing (dropped first when `fresh`). */
export async function benchDatabaseUrl(name: string, fresh: boolean): Promise<string> {
  const adminUrl = serverUrl();
  const admin = await openDatabase({ databaseUrl: adminUrl, poolSize: 1 });
  try {
    if (fresh) await sql`drop database if exists ${sql.id(name)} with (force)`.execute(admin.owner);
    const exists = await sql`select 1 from pg_database where datname = ${name}`.execute(admin.owner);
    if (exists.rows.length === 0) await sql`create database ${sql.id(name)}`.execute(admin.owner);
  } finally {
    await admin.close();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
