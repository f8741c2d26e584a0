import { sql } from "kysely";
import type { Database } from "./database.ts";

export const GENERATED_TYPES_FILE = new URL("./schema.generated.ts", import.meta.url);

interface ColumnRow {
  table_name: string;
  column_name: string;
  data_type: string;
  udt_name: string;
  is_nullable: "YES" | "NO";
  column_default: string | null;
}

/** What a column of this type reads as, and what it accepts when written. */
const SCALARS: Record<string, { read: string; write?: string }> = {
  text: { read: "string" },
  uuid: { read: "string" },
  int2: { read: "number" },
  int4: { read: "number" },
  int8: { read: "number" },
  bool: { read: "boolean" },
  timestamptz: { read: "Date", write: "Date | string" },
  // JSON text (JSON.stringify): the pg driver would send a JS array as a Postgres array.
  jsonb: { read: "JsonValue", write: "string" },
};

/**
 * The Kysely types of every table in `public`, rendered from the live catalog. Text
 * columns limited by `check (col in (...))` become unions of those values.
 */
export async function renderSchemaTypes(database: Database): Promise<string> {
  const columns = await sql<ColumnRow>`
    select c.table_name, c.column_name, c.data_type, c.udt_name, c.is_nullable, c.column_default
      from information_schema.columns c
      join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
     where c.table_schema = 'public' and t.table_type = 'BASE TABLE'
     order by c.table_name, c.ordinal_position`.execute(database.owner);
  const checks = await sql<{ table_name: string; column_name: string; definition: string }>`
    select rel.relname as table_name, att.attname as column_name, pg_get_constraintdef(con.oid) as definition
      from pg_constraint con
      join pg_class rel on rel.oid = con.conrelid
      join pg_namespace ns on ns.oid = rel.relnamespace
      join pg_attribute att on att.attrelid = rel.oid and att.attnum = con.conkey[1]
     where ns.nspname = 'public' and con.contype = 'c' and cardinality(con.conkey) = 1`.execute(database.owner);

  const allowedValues = new Map<string, string[]>();
  for (const check of checks.rows) {
    const list = /(?:= ANY|<@) \(?ARRAY\[([^\]]*)\]/.exec(check.definition)?.[1];
    if (!list) continue;
    const values = [...list.matchAll(/'((?:[^']|'')*)'::text/g)].map((m) => (m[1] ?? "").replaceAll("''", "'"));
    allowedValues.set(`${check.table_name}.${check.column_name}`, values);
  }

  const tables = new Map<string, string[]>();
  for (const column of columns.rows) {
    const isArray = column.data_type === "ARRAY";
    const udt = isArray ? column.udt_name.replace(/^_/, "") : column.udt_name;
    const scalar = SCALARS[udt];
    if (!scalar) throw new Error(`no TypeScript type for ${column.table_name}.${column.column_name} (${udt})`);
    const values = allowedValues.get(`${column.table_name}.${column.column_name}`);
    const element = values ? values.map((value) => JSON.stringify(value)).join(" | ") : scalar.read;
    const nullable = column.is_nullable === "YES" ? " | null" : "";
    const optional = column.column_default !== null;
    let type: string;
    if (scalar.write && !isArray) {
      const write = `${scalar.write}${nullable}`;
      type = `ColumnType<${scalar.read}${nullable}, ${write}${optional ? " | undefined" : ""}, ${write}>`;
    } else {
      type = `${isArray ? `(${element})[]` : element}${nullable}`;
      if (optional) type = `Generated<${type}>`;
    }
    const lines = tables.get(column.table_name) ?? [];
    lines.push(`  ${column.column_name}: ${type};`);
    tables.set(column.table_name, lines);
  }

  const pascal = (name: string) => name.replace(/(^|_)([a-z])/g, (_, __, letter: string) => letter.toUpperCase());
  const out = [
    "// Generated from supabase/migrations by `pnpm --filter @callflow/db generate-types`; do not edit.",
    "// A test fails when this file and the migrations disagree.",
    'import type { ColumnType, Generated } from "kysely";',
    "",
    "// jsonb columns are written as JSON text (JSON.stringify).",
    "export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };",
    "",
  ];
  for (const [table, lines] of tables) {
    out.push(`export interface ${pascal(table)} {`, ...lines, "}", "");
  }
  out.push("export interface DB {");
  for (const table of tables.keys()) out.push(`  ${table}: ${pascal(table)};`);
  out.push("}", "");
  return out.join("\n");
}
