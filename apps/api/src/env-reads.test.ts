// One configuration: the environment is read in env.ts files only (each package's own
// settings, composed by apps/api/src/env.ts). A read anywhere else fails here.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { REPOSITORY_ROOT } from "@callflow/db";
import { expect, it } from "vitest";

const SOURCE_ROOTS = ["apps", "packages", "inngest", "e2e", "bench", "scripts"];
const SKIP = new Set(["node_modules", "dist", ".turbo", ".data"]);

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|tsx|mts|mjs|js)$/.test(entry.name)) yield path;
  }
}

// Spelled in two parts so that this file does not find itself.
const ENV_READ = new RegExp(["process", "env"].join("\\."));

/** Launchers that run before any package, and pass the environment on to what they start. */
const LAUNCHERS = ["scripts/callflow.mjs", "scripts/mutation.mjs"];

it("reads the environment only in env.ts files (and the launchers, which run before any package)", () => {
  const readers = SOURCE_ROOTS.flatMap((root) => [...sourceFiles(join(REPOSITORY_ROOT, root))])
    .filter((file) => ENV_READ.test(readFileSync(file, "utf8")))
    .map((file) => relative(REPOSITORY_ROOT, file))
    .filter((file) => !file.endsWith("/env.ts") && !LAUNCHERS.includes(file));
  expect(readers).toEqual([]);
});

/** The product's settings, as its env.ts files declare them (the benchmarks' own aside). */
function productSettings(): string[] {
  const declared = SOURCE_ROOTS.flatMap((root) => [...sourceFiles(join(REPOSITORY_ROOT, root))])
    .filter((file) => file.endsWith("/env.ts") && !relative(REPOSITORY_ROOT, file).startsWith("bench/"))
    .flatMap((file) =>
      [...readFileSync(file, "utf8").matchAll(/^\s+([A-Z][A-Z0-9_]{2,}): /gm)].map((m) => m[1] as string),
    );
  return [...new Set(declared)];
}

// Benchmarks run outside Turborepo (npm run bench); everything else runs through its tasks.
it("lets every setting through to Turborepo's tasks (strict env mode)", () => {
  const turbo = JSON.parse(readFileSync(join(REPOSITORY_ROOT, "turbo.json"), "utf8")) as {
    tasks: Record<string, { env?: string[]; passThroughEnv?: string[] }>;
  };
  const patterns = Object.values(turbo.tasks)
    .flatMap((task) => [...(task.env ?? []), ...(task.passThroughEnv ?? [])])
    .map((pattern) => new RegExp(`^${pattern.replace("*", ".*")}$`));
  const declared = productSettings();
  expect(declared.length).toBeGreaterThan(20);
  expect(declared.filter((name) => !patterns.some((pattern) => pattern.test(name)))).toEqual([]);
});

it("documents every setting in the README's Configuration table", () => {
  const readme = readFileSync(join(REPOSITORY_ROOT, "README.md"), "utf8");
  const section = readme.slice(
    readme.indexOf("## Configuration"),
    readme.indexOf("\n## ", readme.indexOf("## Configuration") + 1),
  );
  const documented = new Set(
    [...section.matchAll(/^\|([^|]+)\|/gm)].flatMap((row) => row[1]?.match(/[A-Z][A-Z0-9_]{2,}/g) ?? []),
  );
  expect(productSettings().filter((name) => !documented.has(name))).toEqual([]);
});
