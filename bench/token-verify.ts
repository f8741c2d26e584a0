// Benchmark: what verifying a session token costs. (a) @clerk/backend `verifyToken` with
// the PEM, as the API does on a cache miss (the SDK imports the key on every call); (b) the
// product's session check seen over HTTP: the product started with startCallflow in this
// process, `live.changes` requested with a new token each time (cache miss) against one
// token over and over (cache hit, the dashboard: the in-run baseline); (c) import-once
// measuring sticks: node:crypto and WebCrypto with the key imported once, and the import
// alone. Goal: well under 100 µs per request with the key imported once.

import { createPublicKey, generateKeyPairSync, verify, webcrypto } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, startCallflow } from "@callflow/api";
import { devTokenIssuerFromKey } from "@callflow/devstack";
import { verifyToken } from "@clerk/backend";
import { figure, flags, keepAliveClient, Latencies, printMachine, printTable, timeEach } from "./measure.ts";
import { benchDatabaseUrl } from "./postgres-server.ts";

const options = flags(
  "token-verify: session token verification per request",
  { tokens: 5_000, hits: 20_000, warmup: 200, inFlight: 50 },
  { tokens: 1_000, hits: 3_000, warmup: 50 },
);
const ORIGIN = "http://localhost:5173";
const rs256 = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;
const { subtle } = webcrypto;

// ---- setup: tokens from a dev issuer with a key made for the run
printMachine("token-verify");
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const issuer = devTokenIssuerFromKey(privateKey.export({ type: "pkcs8", format: "pem" }).toString());
const pem = issuer.publicKeyPem;
const issue = (i: number) =>
  issuer.issue({
    orgId: "org_bench_a",
    role: i % 2 ? "admin" : "member",
    userId: `user_bench_${i % 100}`,
    authorizedParty: ORIGIN,
  });
const tokens = Array.from({ length: options.tokens }, (_, i) => issue(i));
const parts = tokens.map((token) => {
  const [header, payload, signature] = token.split(".") as [string, string, string];
  return { input: new TextEncoder().encode(`${header}.${payload}`), signature: Buffer.from(signature, "base64url") };
});
const keyObject = createPublicKey(pem);
const jwk = keyObject.export({ format: "jwk" });
const cryptoKey = await subtle.importKey("spki", keyObject.export({ type: "spki", format: "der" }), rs256, false, [
  "verify",
]);
const clerkOptions = { jwtKey: pem, authorizedParties: [ORIGIN] };
const tampered = `${tokens[0]?.slice(0, -3)}${tokens[0]?.endsWith("AAA") ? "BBB" : "AAA"}`;
const rejected = await verifyToken(tampered, clerkOptions).then(
  () => false,
  () => true,
);
console.log(
  `checks: the SDK accepts a good token ${Boolean((await verifyToken(tokens[0] as string, clerkOptions)).sub)}, rejects a tampered one ${rejected}`,
);

// ---- phase (a) and (c): token by token through every method, the order rotating, so a
// change in the machine's load hits them alike. CPU per call counts libuv's pool (WebCrypto).
const methods: Record<string, (i: number) => unknown> = {
  sdk_verify_token: (i) => verifyToken(tokens[i] as string, clerkOptions),
  node_crypto_verify_key_once: (i) =>
    verify("RSA-SHA256", parts[i]?.input as Uint8Array, keyObject, parts[i]?.signature as Buffer),
  webcrypto_verify_key_once: (i) =>
    subtle.verify(rs256, cryptoKey, parts[i]?.signature as Buffer, parts[i]?.input as Uint8Array),
  import_jwk_alone: () => subtle.importKey("jwk", jwk, rs256, false, ["verify"]),
  create_public_key_alone: () => createPublicKey(pem),
};
const names = Object.keys(methods);
const timings = Object.fromEntries(names.map((name) => [name, { latencies: new Latencies(), cpuUs: 0 }]));
for (let i = 0; i < options.warmup; i++) for (const name of names) await methods[name]?.(i % tokens.length);
for (let i = 0; i < tokens.length; i++) {
  for (let k = 0; k < names.length; k++) {
    const name = names[(i + k) % names.length] as string;
    const cpu = process.cpuUsage();
    const started = performance.now();
    await methods[name]?.(i);
    const timing = timings[name] as { latencies: Latencies; cpuUs: number };
    timing.latencies.record(performance.now() - started);
    const used = process.cpuUsage(cpu);
    timing.cpuUs += used.user + used.system;
  }
}
/** `inFlight` loops, each taking the next token when its last call finished: per-token wall time. */
async function inFlight(fn: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.inFlight }, async () => {
      while (next < tokens.length) await fn(next++);
    }),
  );
  return ((performance.now() - started) * 1000) / tokens.length;
}
const sdkInFlight = await inFlight((i) => verifyToken(tokens[i] as string, clerkOptions));
const webcryptoInFlight = await inFlight((i) =>
  subtle.verify(rs256, cryptoKey, parts[i]?.signature as Buffer, parts[i]?.input as Uint8Array),
);

// ---- phase (b): the product's session check over HTTP
const dataDir = mkdtempSync(join(tmpdir(), "callflow-bench-token-"));
const config = loadConfig({
  PORT: "0",
  DATA_DIR: dataDir,
  DATABASE_URL: await benchDatabaseUrl("callflow_bench_tokens", false),
  LOG_LEVEL: "silent",
  RATE_LIMIT_PER_MINUTE: "1000000000",
});
config.webPort = null;
const running = await startCallflow(config);
const http = keepAliveClient(running.apiUrl, 1);
const live = async (token: string) => {
  const answer = await http.request("GET", "/trpc/live.changes", { authorization: `Bearer ${token}` });
  if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
};
let session: { miss: Latencies; hit: Latencies };
try {
  await running.ready;
  const productIssuer = running.devIssuer;
  if (!productIssuer) throw new Error("local mode has a dev issuer");
  const productTokens = Array.from({ length: options.tokens + options.warmup }, (_, i) =>
    productIssuer.issue({ orgId: "org_bench_a", role: "admin", userId: `user_bench_${i}`, authorizedParty: ORIGIN }),
  );
  const miss = await timeEach(options.tokens, options.warmup, (i) => live(productTokens[i] as string));
  const hit = await timeEach(options.hits, options.warmup, () => live(productTokens[0] as string));
  session = { miss, hit };
} finally {
  http.close();
  await running.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

// ---- report
const us = (ms: number) => ms * 1000;
printTable(
  ["µs per call", "p50", "p95", "p99", "CPU/call"],
  names.map((name) => {
    const t = timings[name] as { latencies: Latencies; cpuUs: number };
    const s = t.latencies.summary();
    return [name, us(s.p50), us(s.p95), us(s.p99), t.cpuUs / tokens.length];
  }),
);
const p50 = (name: string) => us((timings[name] as { latencies: Latencies }).latencies.summary().p50);
figure("token_sdk_verify_p50", p50("sdk_verify_token"), "us", "token_webcrypto_verify_key_once_p50");
figure("token_sdk_verify_cpu_per_call", (timings.sdk_verify_token?.cpuUs ?? 0) / tokens.length, "us");
figure(
  `token_sdk_verify_${options.inFlight}_in_flight_wall_per_call`,
  sdkInFlight,
  "us",
  `token_webcrypto_${options.inFlight}_in_flight_wall_per_call`,
);
figure("token_node_crypto_verify_key_once_p50", p50("node_crypto_verify_key_once"), "us");
figure("token_webcrypto_verify_key_once_p50", p50("webcrypto_verify_key_once"), "us");
figure(`token_webcrypto_${options.inFlight}_in_flight_wall_per_call`, webcryptoInFlight, "us");
figure("token_import_jwk_p50", p50("import_jwk_alone"), "us");
figure("token_create_public_key_p50", p50("create_public_key_alone"), "us");
const miss = session.miss.summary();
const hit = session.hit.summary();
console.log(
  `over HTTP (live.changes): new token p50 ${us(miss.p50).toFixed(0)} µs, same token p50 ${us(hit.p50).toFixed(0)} µs`,
);
figure("token_session_http_cache_miss_p50", us(miss.p50), "us", "token_session_http_cache_hit_p50");
figure("token_session_http_cache_hit_p50", us(hit.p50), "us");
figure("token_session_cache_miss_extra_p50", us(miss.p50 - hit.p50), "us");
