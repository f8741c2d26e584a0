// Once per test run: a migrated embedded database, saved as a snapshot that each test
// file loads instead of running initdb and the migrations again.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { databaseOverPglite, openPglite } from "./database.ts";
import { migrate } from "./migrator.ts";

export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), "callflow-pglite-"));
  const pglite = await openPglite();
  await migrate(databaseOverPglite(pglite));
  const snapshot = await pglite.dumpDataDir("none");
  await pglite.close();
  const file = join(dir, "migrated.tar");
  await writeFile(file, Buffer.from(await snapshot.arrayBuffer()));
  project.provide("migratedPgliteSnapshot", file);
  return () => rm(dir, { recursive: true, force: true });
}
