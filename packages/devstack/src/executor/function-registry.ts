// The functions the executor runs: loaded from the store at start, replaced per app by each
// sync. Runs go to the step URL of the app's latest sync.
import { compileFunction, FunctionConfigError, type SyncedFunction } from "./function-config.ts";
import type { ExecutorLog } from "./log.ts";
import { loadFunctions, replaceAppFunctions } from "./store/functions-store.ts";
import type { Db } from "./store/schema.ts";

export interface FunctionRegistry {
  get(id: string): SyncedFunction | undefined;
  all(): Iterable<SyncedFunction>;
  ids(): string[];
  /** Compiles and stores an app's functions; throws FunctionConfigError naming every one it cannot honour. */
  sync(appName: string, appUrl: string, configs: unknown[]): Promise<{ modified: boolean }>;
}

export async function openFunctionRegistry(db: Db, log: ExecutorLog): Promise<FunctionRegistry> {
  const functions = new Map<string, SyncedFunction>();
  for (const row of await loadFunctions(db)) {
    try {
      functions.set(row.id, compileFunction(row.config, row.app_name));
    } catch (error) {
      log({ level: "warn", msg: "stored function no longer valid; sync again", functionId: row.id, error: `${error}` });
    }
  }
  return {
    get: (id) => functions.get(id),
    all: () => functions.values(),
    ids: () => [...functions.keys()],
    async sync(appName, appUrl, configs) {
      const compiled: Array<{ id: string; config: unknown; fn: SyncedFunction }> = [];
      const problems: string[] = [];
      for (const config of configs) {
        try {
          const fn = compileFunction(config, appName);
          compiled.push({ id: fn.id, config, fn });
        } catch (error) {
          if (!(error instanceof FunctionConfigError)) throw error;
          problems.push(error.message);
        }
      }
      if (problems.length) {
        throw new FunctionConfigError(`the dev executor cannot run ${appName}'s functions: ${problems.join("; ")}`);
      }
      const { removed } = await replaceAppFunctions(
        db,
        appName,
        appUrl,
        compiled.map(({ id, config }) => ({ id, config })),
      );
      let modified = removed.length > 0;
      for (const id of removed) functions.delete(id);
      for (const { id, fn } of compiled) {
        const before = functions.get(id);
        if (!before || before.stepUrl !== fn.stepUrl) modified = true;
        functions.set(id, fn);
      }
      return { modified };
    },
  };
}
