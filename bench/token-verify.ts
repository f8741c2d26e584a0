// Benchmark: what verifying a session token costs per request.
//
//   (a) @clerk/backend `verifyToken(token, { jwtKey: PEM })`, the SDK path the API takes
//       on a cache miss: per call the SDK turns the PEM into a JWK, imports it with
//       WebCrypto, then verifies the RS256 signature and the claims;
//   (b) the API's `createSessionVerifier` (apps/api/src/auth/session.ts): the first sight
//       of each token (a cache miss: (a) plus our checks and the cache insert), then the
//       dashboard case, the same token on every request (a cache hit);
//   (c) for information, an import-once path: the key imported once (node:crypto
//       KeyObject or a WebCrypto CryptoKey), then per token only the signature (and, in
//       the "full" row, decoding and the claim checks); plus the key import alone,
//       which is what (a) pays on top.
//
// Tokens come from the dev issuer (RS256, 2048-bit key made for the run), shaped like
// Clerk's v2 session tokens. Timings are per call, in µs, sequential unless the row
// says "in flight"; "CPU/token" is the process's CPU time (all threads: WebCrypto runs
// on libuv's pool) divided by the tokens. It prints figures; it does not pass or fail.
//
//   npx tsx token-verify.ts [--tokens 5000] [--hits 100000] [--warmup 200] [--in-flight 50]

import { createPublicKey, generateKeyPairSync, type KeyObject, verify, webcrypto } from "node:crypto";
import { availableParallelism, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { DEV_ISSUER, devTokenIssuerFromKey } from "@callflow/devstack";
import { verifyToken } from "@clerk/backend";
import { createSessionVerifier } from "../apps/api/src/auth/session.ts";

// ---------------------------------------------------------------------------------------
// Options

interface Options {
  tokens: number;
  hits: number;
  warmup: number;
  inFlight: number;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { tokens: 5_000, hits: 100_000, warmup: 200, inFlight: 50 };
  const count = (text: string, flag: string): number => {
    const parsed = Number(text.replaceAll("_", ""));
    if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`${flag} must be a whole number, got ${text}`);
    return parsed;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = (argv[i] ?? "").split("=", 2) as [string, string | undefined];
    const arg = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) throw new Error(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case "--":
        break;
      case "--tokens":
        options.tokens = Math.max(10, count(arg(), flag));
        break;
      case "--hits":
        options.hits = Math.max(10, count(arg(), flag));
        break;
      case "--warmup":
        options.warmup = count(arg(), flag);
        break;
      case "--in-flight":
        options.inFlight = Math.max(1, count(arg(), flag));
        break;
      case "--help":
      case "-h":
        console.log("usage: tsx token-verify.ts [--tokens N] [--hits N] [--warmup N] [--in-flight N]");
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument: ${argv[i]}`);
    }
  }
  return options;
}

// ---------------------------------------------------------------------------------------
// Measuring

function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length); // nearest rank
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

interface Row {
  label: string;
  n: number;
  /** Per-call latencies in µs (sequential rows only). */
  samples?: Float64Array;
  /** Wall time over all calls / n, µs. */
  wallPerCall: number;
  cpuPerCall: number;
}

const us = (x: number): string => (Number.isNaN(x) ? "-" : x < 10 ? x.toFixed(2) : x.toFixed(1)).padStart(9);

function printRows(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  console.log(
    `  ${"".padEnd(58)} ${"calls".padStart(7)} ${"p50".padStart(9)} ${"p95".padStart(9)} ${"p99".padStart(9)} ${"wall/call".padStart(9)} ${"CPU/call".padStart(9)}`,
  );
  for (const row of rows) {
    const sorted = row.samples ? Float64Array.from(row.samples).sort() : new Float64Array();
    console.log(
      `  ${row.label.padEnd(58)} ${String(row.n).padStart(7)} ${us(percentile(sorted, 50))} ${us(percentile(sorted, 95))} ${us(percentile(sorted, 99))} ${us(row.wallPerCall)} ${us(row.cpuPerCall)}`,
    );
  }
}

/** Calls `fn` on each input in turn, timing every call. */
async function sequential<T>(label: string, inputs: T[], warmup: number, fn: (input: T) => unknown): Promise<Row> {
  for (let i = 0; i < Math.min(warmup, inputs.length); i++) await fn(inputs[i] as T);
  const samples = new Float64Array(inputs.length);
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < inputs.length; i++) {
    const callStarted = performance.now();
    await fn(inputs[i] as T);
    samples[i] = (performance.now() - callStarted) * 1000;
  }
  const wall = (performance.now() - started) * 1000;
  const used = process.cpuUsage(cpu);
  return {
    label,
    n: inputs.length,
    samples,
    wallPerCall: wall / inputs.length,
    cpuPerCall: (used.user + used.system) / inputs.length,
  };
}

interface Method {
  label: string;
  fn: (token: string, index: number) => unknown;
}

/**
 * Token i through every method before token i+1 (the order rotating), each call timed
 * alone with its own wall and CPU time: the methods share whatever else the machine is
 * doing, so their figures compare even when that changes during the run.
 */
async function interleaved(methods: Method[], tokens: string[], warmup: string[]): Promise<Row[]> {
  for (const [i, token] of warmup.entries()) for (const method of methods) await method.fn(token, -1 - i);
  const samples = methods.map(() => new Float64Array(tokens.length));
  const wall = methods.map(() => 0);
  const cpu = methods.map(() => 0);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    for (let k = 0; k < methods.length; k++) {
      const m = (i + k) % methods.length;
      const method = methods[m] as Method;
      const cpuStarted = process.cpuUsage();
      const started = performance.now();
      await method.fn(token, i);
      const elapsed = (performance.now() - started) * 1000;
      const used = process.cpuUsage(cpuStarted);
      (samples[m] as Float64Array)[i] = elapsed;
      wall[m] = (wall[m] as number) + elapsed;
      cpu[m] = (cpu[m] as number) + used.user + used.system;
    }
  }
  return methods.map((method, m) => ({
    label: method.label,
    n: tokens.length,
    samples: samples[m] as Float64Array,
    wallPerCall: (wall[m] as number) / tokens.length,
    cpuPerCall: (cpu[m] as number) / tokens.length,
  }));
}

/** `inFlight` loops taking the next input as each call completes: throughput, not latency. */
async function concurrent<T>(
  label: string,
  inputs: T[],
  inFlight: number,
  fn: (input: T) => Promise<unknown>,
): Promise<Row> {
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < inputs.length) await fn(inputs[next++] as T);
    }),
  );
  const wall = (performance.now() - started) * 1000;
  const used = process.cpuUsage(cpu);
  return {
    label,
    n: inputs.length,
    wallPerCall: wall / inputs.length,
    cpuPerCall: (used.user + used.system) / inputs.length,
  };
}

// ---------------------------------------------------------------------------------------
// An import-once RS256 verifier, for comparison only (not what the API runs).

const WEB_ORIGIN = "http://localhost:5173";
const AUTHORIZED_PARTIES = [WEB_ORIGIN];
const SKEW_SECONDS = 5;

const fromBase64url = (text: string) => Buffer.from(text, "base64url");

function splitToken(token: string): { signingInput: string; header: string; payload: string; signature: Buffer } {
  const first = token.indexOf(".");
  const second = token.indexOf(".", first + 1);
  if (first < 0 || second < 0 || token.indexOf(".", second + 1) >= 0) throw new Error("malformed token");
  return {
    signingInput: token.slice(0, second),
    header: token.slice(0, first),
    payload: token.slice(first + 1, second),
    signature: fromBase64url(token.slice(second + 1)),
  };
}

/** Decode, check alg, verify the signature with a KeyObject made once, check the claims. */
function verifyImportedOnce(token: string, key: KeyObject): Record<string, unknown> {
  const parts = splitToken(token);
  const header = JSON.parse(fromBase64url(parts.header).toString("utf8")) as { alg?: string };
  if (header.alg !== "RS256") throw new Error("unexpected alg");
  if (!verify("RSA-SHA256", Buffer.from(parts.signingInput), key, parts.signature)) throw new Error("bad signature");
  const claims = JSON.parse(fromBase64url(parts.payload).toString("utf8")) as Record<string, unknown>;
  const now = Date.now() / 1000;
  if (typeof claims.exp !== "number" || claims.exp + SKEW_SECONDS <= now) throw new Error("expired");
  if (typeof claims.nbf === "number" && claims.nbf - SKEW_SECONDS > now) throw new Error("not active yet");
  if (typeof claims.iat === "number" && claims.iat - SKEW_SECONDS > now) throw new Error("issued in the future");
  if (typeof claims.sub !== "string" || !claims.sub) throw new Error("no subject");
  if (typeof claims.azp !== "string" || !AUTHORIZED_PARTIES.includes(claims.azp)) throw new Error("azp");
  if (claims.iss !== DEV_ISSUER) throw new Error("iss");
  return claims;
}

// ---------------------------------------------------------------------------------------
// Main

async function main(options: Options): Promise<void> {
  console.log(
    `token-verify bench: RS256 (2048-bit) session tokens, ${options.tokens.toLocaleString("en-US")} distinct, node ${process.version}`,
  );
  console.log(
    `machine: ${availableParallelism()} CPUs, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")} (other work on the machine shows up in the tails)`,
  );

  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, publicExponent: 0x10001 });
  const issuer = devTokenIssuerFromKey(privateKey.export({ type: "pkcs8", format: "pem" }).toString());
  const pem = issuer.publicKeyPem;
  const issueStarted = performance.now();
  const tokens = Array.from({ length: options.tokens }, (_, i) =>
    issuer.issue({
      orgId: "org_bench_a",
      role: i % 2 ? "admin" : "member",
      userId: `user_bench_${i % 100}`,
      authorizedParty: WEB_ORIGIN,
    }),
  );
  const issueMs = performance.now() - issueStarted;
  const warmupTokens = Array.from({ length: options.warmup }, () =>
    issuer.issue({ orgId: "org_bench_a", authorizedParty: WEB_ORIGIN }),
  );
  console.log(
    `issued ${tokens.length.toLocaleString("en-US")} tokens in ${(issueMs / 1000).toFixed(1)} s (${((issueMs * 1000) / tokens.length).toFixed(0)} µs each to sign), ${tokens[0]?.length} characters each`,
  );

  const clerkOptions = { jwtKey: pem, authorizedParties: AUTHORIZED_PARTIES, clockSkewInMs: 5_000 };
  const keyObject = createPublicKey(pem);
  const subtle = webcrypto.subtle;
  const rs256 = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;
  const spki = keyObject.export({ type: "spki", format: "der" });
  const cryptoKey = await subtle.importKey("spki", spki, rs256, false, ["verify"]);
  const jwk = keyObject.export({ format: "jwk" });
  const split = tokens.map(splitToken);
  const encoder = new TextEncoder();

  // Sanity: every path accepts a good token and rejects a tampered one.
  const sample = tokens[0] as string;
  const last = sample.at(-2) === "A" ? "B" : "A";
  const tampered = `${sample.slice(0, -2)}${last}${sample.at(-1)}`;
  const rejects = async (fn: () => unknown) => {
    try {
      const result = await fn();
      return result === false;
    } catch {
      return true;
    }
  };
  const verifier = createSessionVerifier({ jwtKey: pem, authorizedParties: AUTHORIZED_PARTIES, issuer: DEV_ISSUER });
  const checks = {
    clerk:
      (await verifyToken(sample, clerkOptions)).sub !== undefined &&
      (await rejects(() => verifyToken(tampered, clerkOptions))),
    session:
      (await verifier(sample)).orgId === "org_bench_a" &&
      (await rejects(() =>
        createSessionVerifier({ jwtKey: pem, authorizedParties: AUTHORIZED_PARTIES, issuer: DEV_ISSUER })(tampered),
      )),
    nodeCrypto:
      verifyImportedOnce(sample, keyObject).sub !== undefined &&
      (await rejects(() => verifyImportedOnce(tampered, keyObject))),
    webCrypto:
      (await subtle.verify(
        rs256,
        cryptoKey,
        splitToken(sample).signature,
        encoder.encode(splitToken(sample).signingInput),
      )) &&
      (await rejects(() =>
        subtle.verify(
          rs256,
          cryptoKey,
          splitToken(tampered).signature,
          encoder.encode(splitToken(tampered).signingInput),
        ),
      )),
  };
  console.log(
    `checks (accepts a good token, rejects a tampered signature): ${Object.entries(checks)
      .map(([name, ok]) => `${name} ${ok ? "yes" : "NO"}`)
      .join(", ")}`,
  );

  // Sequential rows, interleaved token by token (see interleaved()): (a), (b) on first
  // sight, (c). The session verifier is a fresh one, so each token is a cache miss.
  const fresh = createSessionVerifier({ jwtKey: pem, authorizedParties: AUTHORIZED_PARTIES, issuer: DEV_ISSUER });
  const parts = new Map(tokens.map((token, i) => [token, split[i] as ReturnType<typeof splitToken>]));
  const partsOf = (token: string) => parts.get(token) ?? splitToken(token);
  const rows = await interleaved(
    [
      {
        label: "verifyToken(token, { jwtKey: PEM }): the SDK, per call",
        fn: (token) => verifyToken(token, clerkOptions),
      },
      { label: "createSessionVerifier: first sight (cache miss)", fn: (token) => fresh(token) },
      {
        label: "node:crypto KeyObject once: verify signature only",
        fn: (token) => {
          const p = partsOf(token);
          return verify("RSA-SHA256", Buffer.from(p.signingInput), keyObject, p.signature);
        },
      },
      {
        label: "node:crypto KeyObject once: full (decode+sig+claims)",
        fn: (token) => verifyImportedOnce(token, keyObject),
      },
      {
        label: "WebCrypto CryptoKey once: subtle.verify",
        fn: (token) => {
          const p = partsOf(token);
          return subtle.verify(rs256, cryptoKey, p.signature, encoder.encode(p.signingInput));
        },
      },
      {
        label: "import alone: subtle.importKey(jwk) per call (as the SDK)",
        fn: () => subtle.importKey("jwk", jwk, rs256, false, ["verify"]),
      },
      { label: "import alone: createPublicKey(PEM) per call", fn: () => createPublicKey(pem) },
    ],
    tokens,
    warmupTokens,
  );
  const [sdkRow, missRow, sigRow, fullRow, webRow, importJwkRow, importPemRow] = rows as [
    Row,
    Row,
    Row,
    Row,
    Row,
    Row,
    Row,
  ];

  // (b) cache hits: the same tokens again, then the dashboard's one token over and over.
  const hitsAgain = await sequential(
    `  same tokens again (cache hit, ${tokens.length.toLocaleString("en-US")} sessions)`,
    tokens,
    0,
    (token) => fresh(token),
  );
  const dashboardToken = tokens[0] as string;
  const repeated = Array.from({ length: options.hits }, () => dashboardToken);
  const hitsOne = await sequential(
    "  one token over and over (cache hit: the dashboard)",
    repeated,
    options.warmup,
    (token) => fresh(token),
  );

  // Throughput with requests in flight together (WebCrypto runs on libuv's thread pool).
  const sdkConcurrent = await concurrent(`  same, ${options.inFlight} in flight`, tokens, options.inFlight, (token) =>
    verifyToken(token, clerkOptions),
  );
  const webConcurrent = await concurrent(`  same, ${options.inFlight} in flight`, split, options.inFlight, (p) =>
    subtle.verify(rs256, cryptoKey, p.signature, encoder.encode(p.signingInput)),
  );

  const sdk = [sdkRow, sdkConcurrent];
  const ours = [missRow, hitsAgain, hitsOne];
  const once = [sigRow, fullRow, webRow, webConcurrent, importJwkRow, importPemRow];

  printRows("(a) @clerk/backend verifyToken with the PEM passed each call (µs)", sdk);
  printRows("(b) createSessionVerifier (apps/api/src/auth/session.ts) (µs)", ours);
  printRows("(c) for information: key imported once; and the import alone (µs)", once);

  const p50 = (row: Row) => (row.samples ? percentile(Float64Array.from(row.samples).sort(), 50) : Number.NaN);
  const under = (x: number) => (x < 100 ? "yes" : "no");
  console.log("\nsummary (goal: well under 100 µs per request with the key imported once):");
  console.log(
    `  SDK verifyToken with the PEM: p50 ${p50(sdkRow).toFixed(0)} µs, CPU ${sdkRow.cpuPerCall.toFixed(0)} µs per token ` +
      `(the JWK import alone: p50 ${p50(importJwkRow).toFixed(0)} µs; subtle.verify alone: p50 ${p50(webRow).toFixed(0)} µs) ` +
      `-> under 100 µs: ${under(p50(sdkRow))}`,
  );
  console.log(
    `  createSessionVerifier: cache miss p50 ${p50(missRow).toFixed(0)} µs -> under 100 µs: ${under(p50(missRow))}; ` +
      `cache hit (dashboard) p50 ${p50(hitsOne).toFixed(2)} µs, ${hitsOne.wallPerCall.toFixed(2)} µs per call -> under 100 µs: ${under(p50(hitsOne))}`,
  );
  console.log(
    `  key imported once: node:crypto, full checks p50 ${p50(fullRow).toFixed(0)} µs (CPU ${fullRow.cpuPerCall.toFixed(0)} µs) -> ` +
      `under 100 µs: ${under(p50(fullRow))}; WebCrypto subtle.verify p50 ${p50(webRow).toFixed(0)} µs -> under 100 µs: ${under(p50(webRow))}`,
  );
  console.log("  (the RSA-2048 public-key operation itself, ~30-50 µs here, is the floor of any verification)");
}

await main(parseOptions(process.argv.slice(2)));
