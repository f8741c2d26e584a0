// Vitest for a mutation run: the projects and tests that MUTATION_TARGET names
// (mutation/targets.mjs). Workspace packages resolve to the copies beside this file, so a
// mutant in one package is seen by another package's tests in Stryker's sandbox too.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import projects from "../vitest.workspace.ts";
import { targets } from "./targets.mjs";

const at = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const tests: Record<string, string[]> = targets[process.env.MUTATION_TARGET as keyof typeof targets]?.tests ?? {};

const workspacePackages = [
  { find: /^@callflow\/db\/testing$/, replacement: at("../packages/db/src/testing.ts") },
  { find: /^@callflow\/db$/, replacement: at("../packages/db/src/index.ts") },
  { find: /^@callflow\/domain$/, replacement: at("../packages/domain/src/index.ts") },
  { find: /^@callflow\/providers$/, replacement: at("../packages/providers/src/index.ts") },
  { find: /^@callflow\/devstack$/, replacement: at("../packages/devstack/src/index.ts") },
  { find: /^@callflow\/inngest\/testing$/, replacement: at("../inngest/src/testing.ts") },
  { find: /^@callflow\/inngest$/, replacement: at("../inngest/src/index.ts") },
];

export default defineConfig({
  test: {
    projects: projects.flatMap((project) => {
      const include = tests[project.test?.name as string];
      return include ? [{ ...project, resolve: { alias: workspacePackages }, test: { ...project.test, include } }] : [];
    }),
  },
});
