#!/usr/bin/env node
// Mutation testing with StrykerJS: `npm run -s mutation [-- domain webhooks functions]`.
// Runs each target of mutation/targets.mjs in turn and prints its score as a figure:
//   figure mutation_score_<target> <score> %
//   figure mutation_seconds_<target> <seconds> s
// A benchmark-like figure, not a gate: a low score does not fail the command. Runs are
// incremental (only mutants whose code or tests changed are tested again); MUTATION_FULL=1
// tests every mutant. Stryker's log, reports and sandboxes are under .data/mutation/.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { targets } from "../mutation/targets.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pnpmVersion = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).packageManager.split("@")[1];

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in targets));
if (unknown.length > 0) {
  console.error(`mutation: unknown target ${unknown.join(", ")}; targets are ${Object.keys(targets).join(", ")}`);
  process.exit(2);
}

/** Stryker's mutation score: detected mutants over all valid ones (killed, timed out, survived, not covered). */
function scoreOf(reportFile) {
  const report = JSON.parse(readFileSync(reportFile, "utf8"));
  const counts = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0 };
  for (const file of Object.values(report.files))
    for (const mutant of file.mutants) if (mutant.status in counts) counts[mutant.status]++;
  const detected = counts.Killed + counts.Timeout;
  const valid = detected + counts.Survived + counts.NoCoverage;
  return { score: valid === 0 ? 100 : (100 * detected) / valid, counts };
}

// Mutants run on the embedded database only: the server lane runs the same code, twice as slowly.
const { TEST_DATABASE_URL: _server, CALLFLOW_REQUIRE_SERVER_LANE: _required, ...embeddedLaneOnly } = process.env;

let failed = false;
for (const name of wanted.length > 0 ? wanted : Object.keys(targets)) {
  const out = join(root, ".data", "mutation", name);
  mkdirSync(out, { recursive: true });
  const logFile = join(out, "stryker.log");
  console.log(`mutation: ${name} (log: ${logFile})`);
  const log = openSync(logFile, "w");
  const started = Date.now();
  const result = spawnSync(
    "npx",
    ["--yes", `pnpm@${pnpmVersion}`, "exec", "stryker", "run", "mutation/stryker.config.mjs"],
    { cwd: root, env: { ...embeddedLaneOnly, MUTATION_TARGET: name }, stdio: ["ignore", log, log] },
  );
  const seconds = Math.round((Date.now() - started) / 1000);
  const reportFile = join(out, "report.json");
  if (result.status !== 0 || !existsSync(reportFile)) {
    console.error(`mutation: ${name} failed (exit ${result.status}); see ${logFile}`);
    failed = true;
    continue;
  }
  const { score, counts } = scoreOf(reportFile);
  console.log(
    `mutation: ${name}: ${counts.Killed} killed, ${counts.Timeout} timed out, ${counts.Survived} survived, ${counts.NoCoverage} not covered (report: ${join(out, "report.html")})`,
  );
  console.log(`figure mutation_score_${name} ${score.toFixed(2)} %`);
  console.log(`figure mutation_seconds_${name} ${seconds} s`);
}
process.exit(failed ? 1 : 0);
