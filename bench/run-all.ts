// `pnpm bench`: every benchmark in turn. Arguments go to rls-pagination.ts (as before
// this runner existed, e.g. `--lane server`); the others run with their defaults (run
// them alone, `pnpm bench:api` / `pnpm bench:token` / `pnpm bench:voice` /
// `pnpm bench:after-call`, to pass theirs).
// Stops at the first one that fails.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const benches: Array<{ file: string; args: string[] }> = [
  { file: "rls-pagination.ts", args: process.argv.slice(2).filter((arg) => arg !== "--") },
  { file: "api-calls-list.ts", args: [] },
  { file: "token-verify.ts", args: [] },
  { file: "voice-webhook.ts", args: [] },
  { file: "after-call.ts", args: [] },
  { file: "dashboard.ts", args: [] },
];

for (const bench of benches) {
  console.log(`\n########## ${bench.file} ${bench.args.join(" ")}\n`);
  const script = fileURLToPath(new URL(`./${bench.file}`, import.meta.url));
  const result = spawnSync(process.execPath, [...process.execArgv, script, ...bench.args], { stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`${bench.file} failed (${result.signal ?? `exit ${result.status}`})`);
    process.exit(result.status ?? 1);
  }
}
