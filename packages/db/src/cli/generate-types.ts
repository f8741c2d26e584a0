import { writeFile } from "node:fs/promises";
import { openDatabase } from "../database.ts";
import { migrate } from "../migrator.ts";
import { GENERATED_TYPES_FILE, renderSchemaTypes } from "../schema-types.ts";

const database = await openDatabase({ inMemory: true });
try {
  await migrate(database);
  await writeFile(GENERATED_TYPES_FILE, await renderSchemaTypes(database));
  console.log(`wrote ${GENERATED_TYPES_FILE.pathname}`);
} finally {
  await database.close();
}
