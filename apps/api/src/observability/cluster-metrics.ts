// With API_PROCESSES over 1 the workers share one port, so a scrape reaches whichever worker
// the kernel hands it to. Answered with that worker's own HTTP and process series, its
// counters would seem to go back and forth from scrape to scrape (Prometheus reads a drop as a
// reset). So the worker that answers asks the primary, which gathers every worker's series with
// prom-client's AggregatorRegistry (counters and histograms summed per label set; the process
// series as prom-client aggregates each) and hands back the machine's exposition.
import cluster from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";

/** A worker's HTTP and process series, shared with the other workers of its machine. */
export interface WorkerMetrics {
  /** Gives the primary this worker's registry to gather. */
  share(registry: Registry): void;
  /** Every worker's series, aggregated, in Prometheus's text format. */
  gather(): Promise<string>;
}

type MetricsRequest = { kind: "metrics"; requestId: number };
type MetricsAnswer =
  | { kind: "metrics"; requestId: number; body: string }
  | { kind: "metrics"; requestId: number; error: string };

/** How long a worker waits for the primary's answer (prom-client's own wait for the workers is 5 s). */
const GATHER_TIMEOUT_MS = 7_000;

/** The primary: gathers every worker's series when one of them asks. */
export function gatherWorkerMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on("message", (worker, message: MetricsRequest) => {
    if (message?.kind !== "metrics") return;
    const answer = (fields: { body: string } | { error: string }) => {
      if (worker.isConnected()) worker.send({ kind: "metrics", requestId: message.requestId, ...fields });
    };
    aggregator.clusterMetrics().then(
      (body) => answer({ body }),
      (error: Error) => answer({ error: error.message }),
    );
  });
}

/** A worker: shares its registry with the primary and asks it for the machine's series. */
export function workerMetrics(): WorkerMetrics {
  type Waiting = { resolve: (body: string) => void; reject: (error: Error) => void; timer: NodeJS.Timeout };
  const waiting = new Map<number, Waiting>();
  let nextId = 0;
  process.on("message", (message: MetricsAnswer) => {
    if (message?.kind !== "metrics") return;
    const request = waiting.get(message.requestId);
    if (!request) return;
    waiting.delete(message.requestId);
    clearTimeout(request.timer);
    if ("error" in message) request.reject(new Error(message.error));
    else request.resolve(message.body);
  });
  return {
    share(registry) {
      AggregatorRegistry.setRegistries([registry]);
      // Constructed in a worker, it answers the primary's requests (prom-client adds the listener).
      new AggregatorRegistry();
    },
    gather() {
      const send = process.send?.bind(process);
      if (!send) return Promise.reject(new Error("this process is no cluster worker"));
      const requestId = nextId++;
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(requestId);
          reject(new Error(`the primary process did not answer within ${GATHER_TIMEOUT_MS / 1000} s`));
        }, GATHER_TIMEOUT_MS);
        waiting.set(requestId, { resolve, reject, timer });
        const request: MetricsRequest = { kind: "metrics", requestId };
        send(request);
      });
    },
  };
}
