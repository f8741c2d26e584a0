// npm run -s simulate:checkout -- --org <orgId> --plan starter|growth|pro
// Subscribes a business the way its admin would, without a browser: opens Checkout
// through the API (billing.createCheckoutSession), completes it at the local Stripe
// sandbox (as the "Subscribe" button does), then follows billing.status until Stripe's
// signed webhook has been turned into the new plan, and prints it.
import { openDevTokenIssuer } from "@callflow/devstack";
import { paidPlans } from "@callflow/domain";
import { z } from "zod";
import { loadConfig, webOriginsOf } from "../config.ts";
import { readCliArgs } from "./cli-args.ts";

const usage = `usage: npm run -s simulate:checkout -- --org <orgId> --plan ${paidPlans.map((p) => p.id).join("|")} [--api <url>] [--timeout <seconds>]`;
const fail = (message: string, code = 2): never => {
  console.error(`simulate:checkout: ${message}`);
  process.exit(code);
};

const argsSchema = z.object({
  org: z
    .string({ error: "--org is required" })
    .regex(/^[A-Za-z0-9_]{1,64}$/, "--org must be an org id such as org_demo_rosas_bakery"),
  plan: z.enum(paidPlans.map((plan) => plan.id) as [string, ...string[]], {
    error: `--plan must be one of ${paidPlans.map((plan) => plan.id).join(", ")}`,
  }),
  api: z.string().url("--api must be the API's URL, such as http://localhost:3000").optional(),
  timeout: z.coerce.number().int().min(1).max(600).default(60),
});
const args = readCliArgs("simulate:checkout", usage, argsSchema, ["org", "plan", "api", "timeout"]);

const config = loadConfig();
if (!config.stripe.sandbox) fail("Stripe keys are configured: subscribe through Stripe's own Checkout instead", 1);
if (config.auth.kind === "clerk") fail("Clerk keys are configured: the local token issuer does not exist", 1);
const apiUrl = (args.api ?? `http://localhost:${config.port}`).replace(/\/$/, "");
const token = openDevTokenIssuer(config.dataDir).issue({
  orgId: args.org,
  role: "admin",
  userId: "user_simulator",
  authorizedParty: (config.authorizedParties ?? webOriginsOf(config, null))[0],
});

/** A tRPC query (GET) or mutation (POST) as the dashboard's admin makes it. */
async function trpc<T>(path: string, mutationInput?: unknown): Promise<T> {
  const response = await fetch(`${apiUrl}/trpc/${path}`, {
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(mutationInput === undefined ? {} : { method: "POST", body: JSON.stringify(mutationInput) }),
  }).catch(() => fail(`the API does not answer at ${apiUrl}: start it with npm start`, 1));
  const body = (await response.json()) as { result?: { data: T }; error?: { message: string } };
  if (!body.result) fail(`${path}: ${body.error?.message ?? response.status}`, 1);
  return (body.result as { data: T }).data;
}

type Status = {
  plan: { id: string; name: string; quota: number };
  subscription: { status: string; currentPeriodEnd: string | null } | null;
};

const { url } = await trpc<{ url: string }>("billing.createCheckoutSession", { plan: args.plan });
const checkout = new URL(url);
const sessionId = checkout.pathname.split("/").at(-1) ?? "";
console.log(`Checkout ${url}`);
const completed = await fetch(`${checkout.origin}/v1/test_helpers/checkout/sessions/${sessionId}/complete`, {
  method: "POST",
  headers: { authorization: `Bearer ${config.stripe.secretKey}` },
});
if (!completed.ok)
  fail(`the Stripe sandbox did not complete Checkout: ${completed.status} ${await completed.text()}`, 1);

const deadline = Date.now() + args.timeout * 1000;
while (Date.now() < deadline) {
  const status = await trpc<Status>("billing.status");
  if (status.plan.id === args.plan) {
    const until = status.subscription?.currentPeriodEnd ? `, renews ${status.subscription.currentPeriodEnd}` : "";
    console.log(
      `plan: ${status.plan.name} (${status.plan.quota} messages a month), subscription ${status.subscription?.status}${until}`,
    );
    process.exit(0);
  }
  await new Promise((resolve) => setTimeout(resolve, 250));
}
fail("Stripe's webhook did not change the plan in time", 1);
