// The V8 settings every API process starts with: apps/api's `dev` (npm start) and `start`
// (its build, dist/main.mjs) scripts spell them out (a test checks they match), and the
// benchmarks and end-to-end tests start the product with them too. Cluster workers inherit
// them (node:cluster forks with execArgv).
//
// --max-old-space-size=384: with no limit V8 lets the old generation grow to about 4 times
// what survived the last full collection before the next one (on a machine with this much
// memory), so under load one process held ~340 MB for ~60 MB of live objects. A limit under
// 1 GB also lowers that growth factor to about 1.35, so full collections come sooner: the
// peak under load fell to the idle footprint, for about 1% more CPU spent collecting
// (README, Production topology). It is also a ceiling: a process whose live objects outgrew
// it would stop with "heap out of memory", more than 6 times what it holds under load.
//
// --max-semi-space-size=8 (MB; 16 by default): a smaller young generation, collected more
// often. It keeps a built process's peak under load below 150 MB (158-160 MB at 50 clients
// without it, 141 MB with it) for about 2% more of its CPU spent scavenging.
export const API_NODE_FLAGS = ["--max-old-space-size=384", "--max-semi-space-size=8"] as const;
