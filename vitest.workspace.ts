// The one list of test projects. Vitest 4 no longer reads this file by itself:
// vitest.config.ts loads it.
import { defineProject } from "vitest/config";

export default [
  defineProject({
    test: {
      name: "db",
      root: "./packages/db",
      include: ["src/**/*.test.ts"],
      globalSetup: ["./src/test-global-setup.ts"],
      // Each file opens its own embedded database; PGlite start-up dominates.
      testTimeout: 60_000,
      hookTimeout: 120_000,
    },
  }),
];
