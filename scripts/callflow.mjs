#!/usr/bin/env node
// The quickstart's entry point, runnable with nothing but Node and npm:
//   npm start   installs dependencies on first use, then runs the product locally
//   npm test    installs dependencies on first use, then runs every test lane
//   npm run build   the dashboard and the API's production build (apps/api/dist/main.mjs)
//   npm run bench
// pnpm is run through npx (corepack's signature check fails on some machines).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pnpmVersion = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).packageManager.split("@")[1];
const command = process.argv[2];

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: "inherit", ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}
const pnpm = (args, options) => run("npx", ["--yes", `pnpm@${pnpmVersion}`, ...args], options);

function ensureDependencies() {
  const marker = join(root, "node_modules", ".modules.yaml");
  const lock = join(root, "pnpm-lock.yaml");
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  console.log("callflow: installing dependencies (first run)…");
  if (pnpm(["install", "--frozen-lockfile"]) !== 0) process.exit(1);
}

// The dashboard the API serves on WEB_PORT: built when missing or older than its sources.
function newestChange(path) {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestChange(join(path, name))), stats.mtimeMs);
}

// A production build whatever the caller's NODE_ENV (test runners set it to "test").
const turboBuild = (...args) =>
  pnpm(["exec", "turbo", "run", "build", ...args, "--output-logs=errors-only"], {
    env: { ...process.env, NODE_ENV: "production" },
  });

function ensureDashboard() {
  const web = join(root, "apps", "web");
  const built = join(web, "dist", "index.html");
  const sources = ["src", "public", "index.html", "vite.config.ts", "package.json"].map((name) => join(web, name));
  const newestSource = Math.max(...sources.filter(existsSync).map(newestChange));
  if (existsSync(built) && statSync(built).mtimeMs >= newestSource) return;
  console.log("callflow: building the dashboard…");
  if (turboBuild("--filter=@callflow/web") !== 0) process.exit(1);
}

function testLanes() {
  const summary = [];
  const resultsDir = join(root, ".data", "test-results");
  mkdirSync(resultsDir, { recursive: true });

  // Server lane first: it decides whether the Vitest suites also run against the server.
  let serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const prepared = spawnSync("bash", ["scripts/pg-server.sh"], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    if (prepared.status === 0) serverUrl = prepared.stdout.trim();
  }
  const env = { ...process.env };
  if (serverUrl) {
    env.TEST_DATABASE_URL = serverUrl;
    const prove = spawnSync("bash", ["scripts/test-db-server.sh"], {
      cwd: root,
      env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    process.stdout.write(prove.stdout);
    const total = Number(/Tests=(\d+)/.exec(prove.stdout)?.[1] ?? 0);
    const failed = [...prove.stdout.matchAll(/Failed (\d+)\/\d+ subtests/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    summary.push({
      lane: "pgTAP on PostgreSQL server",
      passed: total - failed,
      failed: prove.status === 0 ? failed : Math.max(failed, 1),
    });
  } else if (process.env.CALLFLOW_REQUIRE_SERVER_LANE === "1") {
    console.error(
      "callflow: the PostgreSQL server lane is required (CALLFLOW_REQUIRE_SERVER_LANE=1) but no server could be prepared",
    );
    process.exit(1);
  } else {
    console.warn(
      "callflow: PostgreSQL server lane NOT RUN: set TEST_DATABASE_URL, or run as root so scripts/pg-server.sh can install and start PostgreSQL 15",
    );
  }

  const json = join(resultsDir, "vitest.json");
  const vitestStatus = pnpm(
    ["exec", "vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${json}`],
    {
      env,
    },
  );
  let vitest = { numPassedTests: 0, numFailedTests: 1 };
  if (existsSync(json)) vitest = JSON.parse(readFileSync(json, "utf8"));
  const lanes = serverUrl ? "PGlite and PostgreSQL server" : "PGlite";
  summary.push({
    lane: `Vitest (${lanes})`,
    passed: vitest.numPassedTests,
    failed: vitestStatus === 0 ? vitest.numFailedTests : Math.max(vitest.numFailedTests, 1),
  });

  console.log("");
  for (const lane of summary) console.log(`callflow: ${lane.lane}: ${lane.passed} passed, ${lane.failed} failed`);
  const passed = summary.reduce((sum, lane) => sum + lane.passed, 0);
  const failed = summary.reduce((sum, lane) => sum + lane.failed, 0);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

switch (command) {
  case "start":
    ensureDependencies();
    ensureDashboard();
    process.exit(pnpm(["--silent", "run", "dev"]));
    break;
  case "test":
    ensureDependencies();
    ensureDashboard();
    testLanes();
    break;
  case "build":
    ensureDependencies();
    process.exit(turboBuild());
    break;
  case "build-dashboard":
    ensureDashboard();
    break;
  case "bench":
    ensureDependencies();
    process.exit(pnpm(["--filter", "@callflow/bench", "run", "bench", ...process.argv.slice(3)]));
    break;
  default:
    console.error("usage: node scripts/callflow.mjs start|test|build|bench|build-dashboard");
    process.exit(2);
}
