// What `npm run -s mutation` mutates, and which tests (per Vitest project, as globs under the
// project's root) may kill the mutants. Slow suites that reach everything, such as the
// stack fuzzer, are left out: they would run for nearly every mutant.
export const targets = {
  domain: {
    mutate: ["packages/domain/src/**/*.ts", "!packages/domain/src/**/*.test.ts", "!packages/domain/src/index.ts"],
    tests: { domain: ["src/**/*.test.ts"] },
  },
  webhooks: {
    mutate: [
      "apps/api/src/webhooks/**/*.ts",
      "!apps/api/src/webhooks/**/*.test.ts",
      // Test support: the server the webhook tests run against, not product code.
      "!apps/api/src/webhooks/twilio-test-server.ts",
    ],
    tests: { api: ["src/webhooks/**/*.test.ts", "src/http/app.test.ts", "src/http/bad-input.test.ts"] },
  },
  functions: {
    mutate: ["inngest/src/functions/**/*.ts", "!inngest/src/functions/**/*.test.ts"],
    tests: {
      inngest: ["src/**/*.test.ts"],
      api: ["src/workflow.test.ts", "src/http/inngest-endpoint.test.ts"],
    },
  },
};
