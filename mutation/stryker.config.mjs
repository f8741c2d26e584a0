// StrykerJS over one target of mutation/targets.mjs, chosen by MUTATION_TARGET; run through
// scripts/mutation.mjs, which prints each target's score. Reports and sandboxes stay under .data/.
import { targets } from "./targets.mjs";

const name = process.env.MUTATION_TARGET ?? "";
const target = targets[name];
if (!target) throw new Error(`MUTATION_TARGET must be one of ${Object.keys(targets).join(", ")}`);
const out = `.data/mutation/${name}`;

export default {
  packageManager: "pnpm",
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: { configFile: "mutation/vitest.config.ts", related: true },
  // Only the tests that reach a mutant run for it.
  coverageAnalysis: "perTest",
  mutate: target.mutate,
  // Two cores, shared: one test process per core.
  concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 2),
  // Later runs re-test only mutants whose code or tests changed.
  incremental: process.env.MUTATION_FULL !== "1",
  incrementalFile: `${out}/incremental.json`,
  tempDirName: ".data/mutation/tmp",
  cleanTempDir: "always",
  ignorePatterns: [".data", ".turbo", "coverage", "dist", "bench", "e2e", "supabase/.temp"],
  // Database-backed tests run slower under load than the dry run suggested.
  timeoutMS: 20_000,
  timeoutFactor: 2,
  reporters: ["json", "html", "clear-text", "progress"],
  jsonReporter: { fileName: `${out}/report.json` },
  htmlReporter: { fileName: `${out}/report.html` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 85, low: 70, break: null },
  disableTypeChecks: "{apps,packages,inngest}/**/*.ts",
};
