// The one list of test projects. Vitest 4 no longer reads this file by itself:
// vitest.config.ts loads it.
import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";

// Roots resolve from this file, so a package's own `vitest run --project X` finds them too.
const at = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default [
  defineProject({
    test: {
      name: "db",
      root: at("./packages/db"),
      include: ["src/**/*.test.ts"],
      globalSetup: [at("./packages/db/src/test-global-setup.ts")],
      // Each file opens its own embedded database; PGlite start-up dominates.
      testTimeout: 60_000,
      hookTimeout: 120_000,
    },
  }),
  defineProject({
    test: {
      name: "domain",
      root: at("./packages/domain"),
      include: ["src/**/*.test.ts"],
    },
  }),
  defineProject({
    test: {
      name: "api",
      root: at("./apps/api"),
      include: ["src/**/*.test.ts"],
      globalSetup: [at("./packages/db/src/test-global-setup.ts")],
      testTimeout: 60_000,
      hookTimeout: 120_000,
    },
  }),
  defineProject({
    test: {
      name: "devstack",
      root: at("./packages/devstack"),
      include: ["src/**/*.test.ts"],
      globalSetup: [at("./packages/db/src/test-global-setup.ts")],
      testTimeout: 60_000,
      hookTimeout: 120_000,
    },
  }),
  defineProject({
    test: {
      name: "providers",
      root: at("./packages/providers"),
      include: ["src/**/*.test.ts"],
      testTimeout: 30_000,
    },
  }),
  defineProject({
    test: {
      name: "inngest",
      root: at("./inngest"),
      include: ["src/**/*.test.ts"],
      globalSetup: [at("./packages/db/src/test-global-setup.ts")],
      testTimeout: 60_000,
      hookTimeout: 120_000,
    },
  }),
  defineProject({
    test: {
      name: "e2e",
      root: at("./e2e"),
      include: ["src/**/*.test.ts"],
      // The browser tests load apps/web/dist: built once, before any file runs, as `npm start` builds it.
      globalSetup: [at("./e2e/src/browser/global-setup.ts")],
      // Each file starts the product in its own process; its runs wait for real windows.
      testTimeout: 180_000,
      hookTimeout: 180_000,
    },
  }),
];
