// What each endpoint accepts, as zod schemas over the parsed form, and how a rejection reads:
// Stripe's own wording and codes (parameter_missing, parameter_unknown, ...) with the
// parameter named in bracket notation. A parameter the sandbox does not implement is
// refused as unknown rather than silently ignored.
import { type ZodType, z } from "zod";
import { type FormValue, render } from "./stripe-form.ts";
import { parameterError, type StripeApiError } from "./stripe-sandbox-errors.ts";

type StripeCode = "parameter_invalid_integer" | "parameter_invalid_empty";

/** Zod custom issues carry the Stripe error code to answer with. */
const failure = (message: string, stripeCode?: StripeCode) => ({
  code: "custom" as const,
  message,
  ...(stripeCode ? { params: { stripeCode } } : {}),
});

const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max, { error: `must be at most ${max} characters` });

/** A field Stripe lets you unset with an empty string: "" becomes null. */
const unsettableText = (max: number) =>
  z
    .string()
    .max(max, { error: `must be at most ${max} characters` })
    .transform((value) => (value === "" ? null : value));

const objectId = z.string().min(1).max(255, { error: "is not a valid id" });

const formInteger = (min: number, max: number) =>
  z.string().transform((value, ctx) => {
    if (!/^-?[0-9]{1,15}$/.test(value)) {
      ctx.addIssue(failure(`Invalid integer: ${value}`, "parameter_invalid_integer"));
      return z.NEVER;
    }
    const number = Number(value);
    if (number < min || number > max) {
      ctx.addIssue(failure(`must be between ${min} and ${max}`));
      return z.NEVER;
    }
    return number;
  });

const formBoolean = z.string().transform((value, ctx) => {
  if (value === "true") return true;
  if (value === "false") return false;
  ctx.addIssue(failure(`Invalid boolean: ${value}`));
  return z.NEVER;
});

const httpUrl = z
  .string()
  .max(5000)
  .refine(
    (value) => {
      if (!URL.canParse(value)) return false;
      const { protocol } = new URL(value);
      return protocol === "http:" || protocol === "https:";
    },
    { error: "Not a valid URL" },
  );

// One @, no spaces: the two runs cannot overlap, so this is linear.
const email = z
  .string()
  .max(512)
  .regex(/^[^\s@]+@[^\s@]+$/, { error: "Invalid email address" });

/** Stripe's metadata: a hash of text (50 keys, keys up to 40 characters, values up to 500), or "" to unset. */
const metadata = z
  .custom<FormValue>((value) => value !== undefined)
  .transform((value, ctx) => {
    if (value === "") return "" as const;
    if (typeof value !== "object" || Array.isArray(value)) {
      ctx.addIssue(failure("expected a hash of text values (metadata[key]=value), or an empty string to unset it"));
      return z.NEVER;
    }
    const keys = Object.keys(value);
    if (keys.length > 50) ctx.addIssue(failure("may have at most 50 keys"));
    for (const key of keys) {
      const entry = value[key];
      if (typeof entry !== "string") ctx.addIssue({ ...failure("values must be text"), path: [key] });
      else if (entry.length > 500) ctx.addIssue({ ...failure("values must be at most 500 characters"), path: [key] });
      if (key.length > 40) ctx.addIssue({ ...failure("keys must be at most 40 characters"), path: [key] });
    }
    return value as Record<string, string>;
  });
export type MetadataParam = z.infer<typeof metadata>;

const expand = z.array(z.string().min(1).max(200)).max(20, { error: "at most 20 paths can be expanded" });

const pagination = {
  limit: formInteger(1, 100).optional(),
  starting_after: objectId.optional(),
  ending_before: objectId.optional(),
  expand: expand.optional(),
};

export const retrieveParams = z.strictObject({ expand: expand.optional() });

export const priceListParams = z.strictObject({
  active: formBoolean.optional(),
  currency: z.string().length(3).optional(),
  lookup_keys: z.array(text(200)).max(10, { error: "at most 10 lookup keys can be given" }).optional(),
  product: objectId.optional(),
  type: z.enum(["one_time", "recurring"]).optional(),
  ...pagination,
});

const customerFields = {
  name: unsettableText(256).optional(),
  email: z.union([z.literal(""), email]).optional(),
  description: unsettableText(350).optional(),
  phone: unsettableText(20).optional(),
  metadata: metadata.optional(),
  expand: expand.optional(),
};
export const customerCreateParams = z.strictObject(customerFields);
export const customerUpdateParams = z.strictObject(customerFields);

export const checkoutSessionCreateParams = z.strictObject({
  mode: z.enum(["payment", "setup", "subscription"]),
  customer: objectId.optional(),
  customer_email: email.optional(),
  line_items: z
    .array(z.strictObject({ price: objectId, quantity: formInteger(1, 999_999) }))
    .min(1)
    .max(1, { error: "the sandbox sells one subscription price per Checkout Session" }),
  success_url: httpUrl.optional(),
  cancel_url: httpUrl.optional(),
  client_reference_id: text(200).optional(),
  metadata: metadata.optional(),
  subscription_data: z.strictObject({ metadata: metadata.optional(), description: text(500).optional() }).optional(),
  expand: expand.optional(),
});

export const portalSessionCreateParams = z.strictObject({
  customer: objectId,
  return_url: httpUrl.optional(),
  expand: expand.optional(),
});

export const subscriptionStatusFilters = [
  "active",
  "all",
  "canceled",
  "ended",
  "incomplete",
  "incomplete_expired",
  "past_due",
  "paused",
  "trialing",
  "unpaid",
] as const;

export const subscriptionListParams = z.strictObject({
  customer: objectId.optional(),
  price: objectId.optional(),
  status: z.enum(subscriptionStatusFilters).optional(),
  ...pagination,
});

export const subscriptionUpdateParams = z.strictObject({
  items: z
    .array(
      z.strictObject({
        id: objectId.optional(),
        price: objectId.optional(),
        quantity: formInteger(1, 999_999).optional(),
        deleted: formBoolean.optional(),
      }),
    )
    .max(20)
    .optional(),
  cancel_at_period_end: formBoolean.optional(),
  // Accepted so callers can state their intent; the sandbox bills no prorations (see README).
  proration_behavior: z.enum(["always_invoice", "create_prorations", "none"]).optional(),
  description: unsettableText(500).optional(),
  metadata: metadata.optional(),
  expand: expand.optional(),
});

export const subscriptionCancelParams = z.strictObject({
  cancellation_details: z
    .strictObject({
      comment: unsettableText(5000).optional(),
      feedback: z
        .enum([
          "",
          "customer_service",
          "low_quality",
          "missing_features",
          "other",
          "switched_service",
          "too_complex",
          "too_expensive",
          "unused",
        ])
        .optional(),
    })
    .optional(),
  expand: expand.optional(),
});

/** Checks a parsed form against an endpoint's schema; a rejection is a Stripe-shaped 400. */
export function readParams<T extends ZodType>(schema: T, form: { [key: string]: FormValue }): z.output<T> {
  const result = schema.safeParse(form, { reportInput: true });
  if (result.success) return result.data;
  throw stripeErrorFor(result.error.issues[0] as z.core.$ZodIssue);
}

function stripeErrorFor(issue: z.core.$ZodIssue): StripeApiError {
  const param = issue.path.length > 0 ? render(issue.path.map(String)) : undefined;
  const named = param ?? "the request";
  if (issue.code === "unrecognized_keys") {
    const unknown = render([...issue.path.map(String), issue.keys[0] ?? ""]);
    return parameterError(`Received unknown parameter: ${unknown}`, unknown, "parameter_unknown");
  }
  if (issue.code === "invalid_type" && issue.input === undefined) {
    return parameterError(`Missing required param: ${named}.`, param, "parameter_missing");
  }
  if (issue.code === "invalid_type") {
    const expected = issue.expected === "array" ? "an array" : issue.expected === "object" ? "a hash" : issue.expected;
    return parameterError(`Invalid ${named}: expected ${expected}.`, param);
  }
  if (issue.code === "too_small" && issue.origin === "string" && issue.input === "") {
    return parameterError(
      `You passed an empty string for '${named}'. We assume empty values are an attempt to unset a parameter; however '${named}' cannot be unset. You should remove '${named}' from your request or supply a non-empty value.`,
      param,
      "parameter_invalid_empty",
    );
  }
  if (issue.code === "custom" && (issue.params?.stripeCode as string | undefined)?.startsWith("parameter_")) {
    return parameterError(issue.message, param, issue.params?.stripeCode as string);
  }
  if (issue.code === "invalid_value") {
    const options = issue.values.map((value) => String(value)).filter((value) => value !== "");
    return parameterError(`Invalid ${named}: must be one of ${options.join(", ")}`, param);
  }
  if (issue.code === "too_small" && issue.origin === "array") {
    return parameterError(`Invalid ${named}: at least ${issue.minimum} entries are required.`, param);
  }
  return parameterError(`Invalid ${named}: ${issue.message}`, param);
}
