// The API's production build: one module that plain `node` loads, with every registry package
// imported from where this checkout installed it. (e2e/src/cluster-burst.test.ts runs it as a
// cluster on the PostgreSQL server; the benchmarks measure it.)
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, resolve } from "node:path";
import { promisify } from "node:util";
import { inheritedEnvironment } from "@callflow/db";
import { beforeAll, expect, it } from "vitest";
import { builtApi } from "./build.ts";
import { API_NODE_FLAGS } from "./node-flags.ts";

let bundle: string;
let source: string;
beforeAll(async () => {
  bundle = await builtApi();
  source = readFileSync(bundle, "utf8");
}, 60_000);

/** Every module specifier the bundle imports, statically or lazily. */
function importedSpecifiers(text: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(/(?:^import\s[^;]*?\sfrom\s|^import\s|\bimport\()\s*"([^"]+)"/gm)) {
    found.add(match[1] as string);
  }
  return [...found];
}

it("bundles the workspace's source and imports each registry package by a path that exists", () => {
  const specifiers = importedSpecifiers(source);
  const relativeOnes = specifiers.filter((specifier) => specifier.startsWith("."));
  expect(relativeOnes.length).toBeGreaterThan(10);
  expect(specifiers.filter((specifier) => !specifier.startsWith(".") && !isBuiltin(specifier))).toEqual([]);
  expect(relativeOnes.filter((specifier) => !existsSync(resolve(dirname(bundle), specifier)))).toEqual([]);
  expect(relativeOnes.every((specifier) => specifier.includes("/node_modules/"))).toBe(true);
  // Loaded only when used, as under tsx (server-mode-modules.test.ts): still lazy imports.
  const lazy = specifiers.filter((specifier) => source.includes(`import("${specifier}")`));
  for (const name of ["/stripe/", "/@electric-sql/pglite/", "/@opentelemetry/sdk-trace/"])
    expect(
      lazy.some((specifier) => specifier.includes(name)),
      name,
    ).toBe(true);
});

it("runs under plain node: an invalid setting stops it with the variable's name", async () => {
  const run = promisify(execFile)(process.execPath, [...API_NODE_FLAGS, bundle], {
    env: { PATH: inheritedEnvironment().PATH ?? "", PORT: "not-a-port" },
    timeout: 30_000,
  });
  const failure = await run.then(
    () => null,
    (error: { code: number; stderr: string }) => error,
  );
  expect(failure?.code).toBe(1);
  expect(failure?.stderr).toMatch(/PORT/);
  expect(failure?.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find/);
});
