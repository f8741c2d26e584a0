// The API for production: src/main.ts and the workspace packages it imports (TypeScript
// source) bundled by esbuild into one ES module, dist/main.mjs, that plain `node` runs.
// Under tsx an idle server-mode process holds about 60 MB more (its loader thread and the
// source maps it keeps; README, Memory of an API process).
//
// Packages from the registry stay outside the bundle, imported by a path relative to
// dist/main.mjs: pnpm lets a package resolve only its own dependencies, so `pg` (a
// dependency of @callflow/db) has no bare name apps/api could import; the path is the one
// the importing workspace package resolves. Lazy imports (Stripe's SDK, PGlite, the
// OpenTelemetry SDK) stay lazy. The build is tied to this checkout's node_modules: build it
// where it runs (a deploy image builds after `pnpm install`).
//
// dist/ sits as deep under the repository root as packages/db/src and apps/api/src, so paths
// their code takes from import.meta.url (migrations, the seed, apps/web/dist) hold in the bundle.
import { mkdir, rename, writeFile } from "node:fs/promises";
import { isBuiltin } from "node:module";
import { dirname, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

const API_DIR = fileURLToPath(new URL("../", import.meta.url));
const API_BUNDLE = fileURLToPath(new URL("../dist/main.mjs", import.meta.url));

/** Bare imports (esbuild's filters are Go regular expressions: no lookahead). */
const BARE_IMPORT = /^[^./]/;
const RESOLVING = Symbol("resolving");

/** A bare import of a registry package, made external at the path its importer resolves. */
const registryPackagesOutside: Plugin = {
  name: "registry-packages-outside",
  setup(builder) {
    builder.onResolve({ filter: BARE_IMPORT }, async (args) => {
      // Workspace packages are bundled from their source.
      if (args.pluginData === RESOLVING || args.path.startsWith("@callflow/")) return undefined;
      if (isBuiltin(args.path)) return { path: args.path, external: true };
      const resolved = await builder.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: RESOLVING,
      });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      const fromBundle = relative(dirname(API_BUNDLE), resolved.path).split("\\").join("/");
      return { path: fromBundle.startsWith(".") ? fromBundle : `./${fromBundle}`, external: true };
    });
  },
};

/** Writes dist/main.mjs (and its source map); several builds at once each replace it whole. */
export async function buildApi(): Promise<string> {
  const result = await build({
    absWorkingDir: API_DIR,
    entryPoints: ["src/main.ts"],
    outfile: API_BUNDLE,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // A linked map: `node --enable-source-maps dist/main.mjs` points stack traces at the
    // TypeScript; without the flag Node never reads it, so it costs nothing.
    sourcemap: "linked",
    // Kept as they are: Inngest and Hono read nothing from function names, but stack traces do.
    keepNames: true,
    plugins: [registryPackagesOutside],
    logLevel: "warning",
    write: false,
  });
  await mkdir(dirname(API_BUNDLE), { recursive: true });
  for (const file of result.outputFiles) {
    const partial = `${file.path}.${process.pid}.partial`;
    await writeFile(partial, file.contents);
    await rename(partial, file.path);
  }
  return API_BUNDLE;
}

let building: Promise<string> | undefined;

/** The build this process made, made on first use: what the tests and benchmarks start. */
export function builtApi(): Promise<string> {
  building ??= buildApi();
  return building;
}

/** How an API process runs: its build, as a server deployment runs it, or its source under tsx, as `npm start`. */
export type ApiRun = "build" | "source";

/** Node's arguments after the flags that run the API (from the repository root, where tsx resolves). */
export async function apiEntry(run: ApiRun): Promise<string[]> {
  return run === "build"
    ? [await builtApi()]
    : ["--import", "tsx", fileURLToPath(new URL("./main.ts", import.meta.url))];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bundle = await buildApi();
  console.log(`built ${relative(process.cwd(), bundle)}`);
}
