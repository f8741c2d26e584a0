// The API workers a cluster's primary (API_PROCESSES > 1) started, read from /proc (Linux):
// for the tests and benchmarks that watch a cluster replace or measure its workers.
import { readdirSync, readFileSync } from "node:fs";

const API_ENTRY = /apps\/api\/(src\/main\.ts|dist\/main\.mjs)\0/;

/**
 * The primary's children that run the API, from source (apps/api/src/main.ts) or its build
 * (apps/api/dist/main.mjs); its other children, such as esbuild's service, aside.
 */
export function apiWorkerPids(primaryPid: number): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        // The parent is the 4th field, after the command in parentheses (which may hold spaces).
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        return parent === primaryPid && API_ENTRY.test(readFileSync(`/proc/${entry}/cmdline`, "utf8"));
      } catch {
        return false;
      }
    })
    .map(Number);
}
