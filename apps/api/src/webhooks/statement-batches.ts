// Group commit for webhooks: callbacks that arrive while earlier statements are in flight wait
// for a free slot and then go together, as one statement (one transaction, one commit, one
// round trip). With few callbacks each goes at once, alone: batching adds no wait, it only
// gathers what would have queued for a pooled connection anyway. Each caller's promise settles
// after its batch did, so a webhook still answers only what was committed.
import { isDatabaseUnavailable } from "@callflow/db";

export interface StatementBatchesOptions<I, O> {
  /** One item, alone: the statement of old, and what a failed batch falls back to. */
  runOne(item: I): Promise<O>;
  /** Several items in one statement (one transaction); answers each, in the items' order. */
  runBatch(items: readonly I[]): Promise<O[]>;
}

/**
 * Statements in flight at once, per webhook and process: two keep the server busy while one
 * batch commits, and one slow batch (a lock wait) does not hold every callback. Measured on
 * the voice bench (2 cores): one 1,424 req/s, two 1,378, four 1,112, eight 1,083 — more in
 * flight means smaller batches.
 */
const MAX_IN_FLIGHT = 2;
/** Items a statement takes at most: 64 voice reports are about 64 KB of JSON. */
const MAX_BATCH = 64;

interface Waiting<I, O> {
  item: I;
  resolve(value: O): void;
  reject(error: unknown): void;
}

export class StatementBatches<I, O> {
  readonly #options: StatementBatchesOptions<I, O>;
  readonly #waiting: Waiting<I, O>[] = [];
  #inFlight = 0;

  constructor(options: StatementBatchesOptions<I, O>) {
    this.#options = options;
  }

  run(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      this.#drain();
    });
  }

  #drain(): void {
    while (this.#inFlight < MAX_IN_FLIGHT && this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, MAX_BATCH);
      this.#inFlight++;
      void this.#send(batch).finally(() => {
        this.#inFlight--;
        this.#drain();
      });
    }
  }

  async #send(batch: Waiting<I, O>[]): Promise<void> {
    if (batch.length > 1) {
      try {
        const answers = await this.#options.runBatch(batch.map((waiting) => waiting.item));
        // Cannot happen with a statement that answers every item; were it to, the items run
        // again one by one, which the statements this serves take as repeats.
        if (answers.length !== batch.length)
          throw new Error(`a batch of ${batch.length} got ${answers.length} answers`);
        for (const [index, waiting] of batch.entries()) waiting.resolve(answers[index] as O);
        return;
      } catch (error) {
        // Nothing of a failed batch was written. A database that cannot be reached fails every
        // item the same way, at once; any other error (a deadlock with another batch, one
        // item's bad value) is each item's own to meet, one by one.
        if (isDatabaseUnavailable(error)) {
          for (const waiting of batch) waiting.reject(error);
          return;
        }
      }
    }
    await Promise.all(batch.map((waiting) => this.#options.runOne(waiting.item).then(waiting.resolve, waiting.reject)));
  }
}
