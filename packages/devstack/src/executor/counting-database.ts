// For measuring the executor's store work: a Database whose owner counts every statement
// it runs and every transaction (an explicit one, or a statement outside any: autocommit).
import { AsyncLocalStorage } from "node:async_hooks";
import type { Database } from "@callflow/db";
import type { KyselyPlugin } from "kysely";

export interface StoreCounts {
  statements: number;
  transactions: number;
}

export function countingDatabase(database: Database): { database: Database; counts: StoreCounts; reset(): void } {
  const counts: StoreCounts = { statements: 0, transactions: 0 };
  const inTransaction = new AsyncLocalStorage<true>();
  const plugin: KyselyPlugin = {
    transformQuery(args) {
      counts.statements++;
      if (!inTransaction.getStore()) counts.transactions++;
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  const counted = database.owner.withPlugin(plugin);
  const owner = new Proxy(counted, {
    get(target, property) {
      if (property === "transaction") {
        return () => {
          const builder = target.transaction();
          return {
            execute<T>(work: Parameters<typeof builder.execute<T>>[0]): Promise<T> {
              counts.transactions++;
              return inTransaction.run(true, () => builder.execute(work));
            },
          };
        };
      }
      const value = Reflect.get(target, property);
      // Kysely keeps its state in private fields: its methods must see the real instance.
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    database: { ...database, owner },
    counts,
    reset() {
      counts.statements = 0;
      counts.transactions = 0;
    },
  };
}
