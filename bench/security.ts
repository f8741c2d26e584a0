// Benchmark: can hostile input hold the product? (a) template placeholder parsing
// (`renderTemplate`) of adversarial text at 1 kB, 10 kB and 100 kB: the time per size and
// the ratios 10k/1k and 100k/10k (linear ≈ 10, quadratic ≈ 100); (b) the p99 of /healthz
// on the product in its own process while one client sends adversarial
// `templates.preview` queries as an admin, against the p99 with no adversary (baseline).
import { renderTemplate, sampleVariables } from "@callflow/domain";
import {
  figure,
  flags,
  keepAliveClient,
  type LoadResult,
  printMachine,
  printTable,
  runLoad,
  timeEach,
} from "./measure.ts";
import { startProductProcess } from "./product-process.ts";

const options = flags(
  "security: hostile template text, parsed alone and sent to the running product",
  { iterations: 50, duration: 15 },
  { iterations: 20, duration: 6 },
);

// ---- (a) placeholder parsing, in this process
printMachine("security");
const inputs: Record<string, (bytes: number) => string> = {
  open_then_spaces: (bytes) => `{{${" ".repeat(bytes - 3)}x`,
  open_repeated: (bytes) => "{{".repeat(bytes / 2),
  open_name_repeated: (bytes) => "{{x".repeat(Math.floor(bytes / 3)),
};
const sizes = [1_000, 10_000, 100_000];
const rows = [];
for (const [name, make] of Object.entries(inputs)) {
  const medians = [];
  for (const size of sizes) {
    const text = make(size);
    const times = await timeEach(options.iterations, options.iterations, () => renderTemplate(text, sampleVariables));
    medians.push(times.summary().p50);
  }
  const [small, medium, large] = medians as [number, number, number];
  rows.push([name, small * 1000, medium * 1000, large * 1000, medium / small, large / medium]);
  for (const [i, size] of sizes.entries())
    figure(`template_parse_${name}_${size / 1000}k`, (medians[i] ?? 0) * 1000, "us");
  figure(`template_parse_${name}_ratio_10k_to_1k`, medium / small, "ratio");
  figure(`template_parse_${name}_ratio_100k_to_10k`, large / medium, "ratio");
}
printTable(["renderTemplate p50, µs", "1 kB", "10 kB", "100 kB", "10k/1k", "100k/10k"], rows);

// ---- (b) /healthz while an adversary sends hostile previews (max length 1,600)
const product = await startProductProcess();
try {
  const admin = product.token("org_demo_northside_plumbing");
  const hostile = `/trpc/templates.preview?input=${encodeURIComponent(JSON.stringify({ smsBody: `{{${" ".repeat(1590)}x` }))}`;
  const health = keepAliveClient(product.url, 1);
  const adversary = keepAliveClient(product.url, 1);
  const healthz = () =>
    runLoad({ clients: 1, requests: Number.MAX_SAFE_INTEGER, seconds: options.duration, warmup: 100 }, async () => {
      const answer = await health.request("GET", "/healthz");
      if (answer.status !== 200) throw new Error(`HTTP ${answer.status}`);
    });
  const quiet = await healthz();
  let attacking = true;
  const answers = new Map<number, number>();
  const attack = (async () => {
    while (attacking) {
      const { status } = await adversary.request("GET", hostile, { authorization: `Bearer ${admin}` });
      answers.set(status, (answers.get(status) ?? 0) + 1);
    }
  })();
  const attacked = await healthz();
  attacking = false;
  await attack;
  health.close();
  adversary.close();

  // ---- report
  const row = (label: string, r: LoadResult) => {
    const s = r.latencies.summary();
    return [label, r.completed, s.p50, s.p99, s.max];
  };
  printTable(
    ["GET /healthz, ms", "requests", "p50", "p99", "max"],
    [row("alone", quiet), row("with the adversary", attacked)],
  );
  const statuses = [...answers].map(([status, n]) => `${n} × HTTP ${status}`).join(", ");
  console.log(`adversary's previews: ${statuses}`);
  figure("healthz_p99_under_hostile_preview", attacked.latencies.summary().p99, "ms", "healthz_p99_alone");
  figure("healthz_p99_alone", quiet.latencies.summary().p99, "ms");
  figure(
    "hostile_preview_requests",
    [...answers.values()].reduce((a, b) => a + b, 0),
    "count",
  );
  figure(
    "hostile_preview_server_errors",
    [...answers].filter(([status]) => status >= 500).reduce((a, [, n]) => a + n, 0),
    "count",
  );
} finally {
  await product.stop();
}
