// `npm run bench`: every benchmark in turn (or `--only a,b`; `--quick` for smaller sizes),
// their output as it comes, then one table: the machine, and every `figure` line with its
// in-run baseline. The table replaces the latest one in README.md's report section, and the
// one it replaces is kept below it, so a regression shows.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { flags, machine } from "./measure.ts";

const BENCHMARKS = [
  "rls-pagination",
  "api-calls-list",
  "token-verify",
  "voice-webhook",
  "api-processes",
  "after-call",
  "dashboard",
  "stripe-sandbox",
  "security",
  "metrics-scrape",
  "api-memory",
];
const options = flags(`run-all: ${BENCHMARKS.join(", ")}`, { only: "" });
const README = fileURLToPath(new URL("./README.md", import.meta.url));
const START = "<!-- bench-report: written by run-all.ts -->";
const END = "<!-- bench-report end -->";
const RUN = "<!-- run -->";

interface Figure {
  bench: string;
  name: string;
  value: string;
  unit: string;
  baseline?: string;
}

/** A table laid out as the repository's formatter lays it out; column `right` right-aligned. */
function markdownTable(head: string[], rows: string[][], right: number): string {
  const widths = head.map((title, i) => Math.max(3, title.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => (i === right ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join(" | ")} |`;
  const rule = widths.map((width, i) => (i === right ? `${"-".repeat(width - 1)}:` : "-".repeat(width)));
  return [line(head), line(rule), ...rows.map(line)].join("\n");
}

/** Runs one benchmark, echoing its output; its figures and baselines. */
function runBenchmark(bench: string): Promise<{ figures: Figure[]; ok: boolean }> {
  const script = fileURLToPath(new URL(`./${bench}.ts`, import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, script, ...(options.quick ? ["--quick"] : [])], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const figures: Figure[] = [];
  const baselines = new Map<string, string>();
  let pending = "";
  child.stdout.on("data", (chunk: Buffer) => {
    process.stdout.write(chunk);
    const lines = (pending + chunk.toString()).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      const [kind, name, value, unit] = line.trim().split(/\s+/);
      if (kind === "figure" && name && value && unit) figures.push({ bench, name, value, unit });
      if (kind === "baseline" && name && value) baselines.set(name, value);
    }
  });
  return new Promise((resolve) =>
    child.on("exit", (code) => {
      for (const each of figures) each.baseline = baselines.get(each.name);
      resolve({ figures, ok: code === 0 });
    }),
  );
}

const started = performance.now();
const chosen = options.only ? options.only.split(",") : BENCHMARKS;
const unknown = chosen.filter((bench) => !BENCHMARKS.includes(bench));
if (unknown.length) throw new Error(`unknown benchmark(s): ${unknown.join(", ")}; there are ${BENCHMARKS.join(", ")}`);
const figures: Figure[] = [];
const failed: string[] = [];
for (const bench of chosen) {
  console.log(`\n########## ${bench}${options.quick ? " --quick" : ""}\n`);
  const benchStarted = performance.now();
  const result = await runBenchmark(bench);
  figures.push(...result.figures);
  if (!result.ok) failed.push(bench);
  console.log(
    `########## ${bench}: ${result.ok ? "done" : "FAILED"} in ${((performance.now() - benchStarted) / 60_000).toFixed(1)} min`,
  );
}

// ---- the report
const m = machine();
const minutes = ((performance.now() - started) / 60_000).toFixed(1);
const heading =
  `${m.date} UTC: ${m.cpus} CPUs (${m.model}), ${m.memoryGb} GB, node ${m.node}, load average at the end ${m.load}; ` +
  `${options.quick ? "quick run" : "full run"} of ${chosen.join(", ")} in ${minutes} min` +
  (failed.length ? `; FAILED: ${failed.join(", ")}` : "");
const byName = new Map(figures.map((each) => [each.name, each]));
const baselineOf = (each: Figure) => {
  const base = each.baseline ? byName.get(each.baseline) : undefined;
  return base ? `${base.value} ${base.unit} (${base.name})` : "";
};
const table = markdownTable(
  ["benchmark", "figure", "value", "unit", "in-run baseline"],
  figures.map((each) => [each.bench, each.name, each.value, each.unit, baselineOf(each)]),
  2,
);
console.log(`\n${heading}\n`);
const width = Math.max(...figures.map((each) => each.name.length));
for (const each of figures)
  console.log(
    `figure ${each.name.padEnd(width)} ${each.value.padStart(9)} ${each.unit.padEnd(11)} ${baselineOf(each)}`,
  );

// Latest first, then the one it replaces; older runs are dropped (git keeps them).
const readme = readFileSync(README, "utf8");
const [before, rest] = readme.includes(START) ? readme.split(START) : [`${readme.trimEnd()}\n\n`, END];
const [section = "", after = ""] = (rest ?? "").split(END);
const previous =
  section
    .split(RUN)
    .map((run) => run.trim())
    .filter(Boolean)[0] ?? "";
const runs = [`**Latest run**, ${heading}\n\n${table}`, previous.replace(/^\*\*Latest run\*\*/, "**Previous run**")];
writeFileSync(
  README,
  `${before}${START}\n${runs
    .filter(Boolean)
    .map((run) => `${RUN}\n${run}\n`)
    .join("\n")}${END}${after}`,
);
console.log(`\nwritten to ${README} (${figures.length} figures)`);
if (failed.length) process.exit(1);
