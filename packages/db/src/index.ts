export {
  type Database,
  type DatabaseLocation,
  databaseOverPglite,
  openDatabase,
  openPglite,
  type ServiceFunction,
  type SessionClaims,
  serviceFunctionCall,
  type Tx,
} from "./database.ts";
export { type EmbeddedDatabase, startEmbeddedDatabase } from "./embedded.ts";
export { databaseEnv, type EnvSource, inheritedEnvironment, REPOSITORY_ROOT, testDatabaseEnv } from "./env.ts";
export { MIGRATIONS_DIR, migrate, readMigrations, seedOnce } from "./migrator.ts";
export type * from "./schema.generated.ts";
export { isDatabaseUnavailable } from "./unavailable.ts";
