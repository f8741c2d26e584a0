import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { inheritedEnvironment } from "@callflow/db";
import { expect, it } from "vitest";
import { API_NODE_FLAGS } from "./node-flags.ts";

it("the API's dev (npm start, from source) and start (its build) scripts start it with API_NODE_FLAGS", () => {
  const { scripts } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    scripts: Record<string, string>;
  };
  const flags = API_NODE_FLAGS.join(" ");
  expect({ dev: scripts.dev, start: scripts.start }).toEqual({
    dev: `tsx ${flags} src/main.ts`,
    start: `node ${flags} dist/main.mjs`,
  });
});

it("this Node accepts the flags and limits the old generation to 384 MB", async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...API_NODE_FLAGS, "-p", "require('node:v8').getHeapStatistics().heap_size_limit"],
    { env: { PATH: inheritedEnvironment().PATH ?? "" } },
  );
  const limitMb = Number(stdout) / 2 ** 20;
  // The heap's limit is the old generation's plus the young generation's (a few tens of MB).
  expect(limitMb).toBeGreaterThanOrEqual(384);
  expect(limitMb).toBeLessThan(384 + 100);
});
