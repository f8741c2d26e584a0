// The built dashboard the tests load: the same build `npm start` makes (rebuilt only when
// its sources changed), or a throwaway build with an environment of the test's choosing.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { inheritedEnvironment } from "@callflow/db";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const WEB_DIR = fileURLToPath(new URL("../../../apps/web/", import.meta.url));

function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
  const result = spawnSync(command, args, { ...options, encoding: "utf8", stdio: "pipe" });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** apps/web/dist as `npm start` leaves it. */
export function ensureDashboardBuilt() {
  run(process.execPath, ["scripts/callflow.mjs", "build-dashboard"], { cwd: ROOT });
}

/** Builds the dashboard into outDir with exactly this environment added. */
export function buildDashboardInto(outDir: string, env: Record<string, string>) {
  // Another directory than dist, so it may run beside the dashboard's own build.
  const args = ["node_modules/vite/bin/vite.js", "build", "--outDir", outDir, "--emptyOutDir", "--bypass-lock"];
  run(process.execPath, args, {
    cwd: WEB_DIR,
    env: { ...inheritedEnvironment(), NODE_ENV: "production", ...env },
  });
}
