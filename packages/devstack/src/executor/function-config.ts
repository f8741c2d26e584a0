// A synced function's configuration (what the SDK posts to /fn/register for each function),
// compiled into what the executor acts on. Options it does not implement fail the sync
// with their name, so an app never runs here with semantics it would not get on Inngest.
import { createHash } from "node:crypto";
import { z } from "zod";
import { type CronSchedule, parseCron } from "./cron.ts";
import { parseDuration } from "./duration.ts";
import { type Expression, type ExpressionError, parseExpression } from "./expression.ts";
import type { GcraLimit } from "./gcra.ts";

export interface SyncedFunction {
  id: string;
  appName: string;
  /** What Inngest Cloud sends as `ctx.fn_id`: the function's internal UUID. */
  internalId: string;
  /** The step URL of the app's latest sync. */
  stepUrl: string;
  triggers: Array<{ event: string; expression: Expression | null }>;
  /** Cron triggers: each tick starts one run with an `inngest/scheduled.timer` event (cron-ticker.ts). */
  schedules: CronSchedule[];
  /** Retries after the first attempt. */
  retries: number;
  idempotency: Expression | null;
  throttle: KeyedLimit<GcraLimit> | null;
  rateLimit: KeyedLimit<GcraLimit> | null;
  /** Each limit caps the requests in flight per value of its key (scope fn). */
  concurrency: Array<KeyedLimit<number>>;
}

export interface KeyedLimit<T> {
  key: Expression | null;
  limit: T;
}

/** Options that change how runs behave and that this executor does not implement. */
const UNSUPPORTED = ["debounce", "batchEvents", "cancel", "priority", "timeouts", "singleton"];
/** Inngest's default: 3 retries, 4 attempts (inngest/inngest pkg/consts, DefaultRetryCount). */
const DEFAULT_RETRIES = 3;

/** An expression over `event`, compiled at sync; absent or empty is none. */
const optionalExpression = z
  .string()
  .nullish()
  .transform((source, context): Expression | null => {
    if (!source) return null;
    try {
      return parseExpression(source, ["event"]);
    } catch (error) {
      context.addIssue({ code: "custom", message: `"${source.slice(0, 200)}": ${(error as Error).message}` });
      return z.NEVER;
    }
  });
const duration = z.string().transform((text, context) => {
  try {
    const ms = parseDuration(text);
    if (ms > 0) return ms;
    context.addIssue({ code: "custom", message: "must be longer than 0" });
  } catch (error) {
    context.addIssue({ code: "custom", message: (error as ExpressionError).message });
  }
  return z.NEVER;
});
const positiveInt = z.number().int().min(1);

const eventTrigger = z
  .object({
    event: z
      .string()
      .min(1)
      .refine((name) => !name.includes("*"), "wildcard triggers are not supported"),
    expression: optionalExpression,
  })
  .strict();
const cronTrigger = z
  .object({
    cron: z.string().transform((source, context): CronSchedule => {
      try {
        return parseCron(source);
      } catch (error) {
        context.addIssue({ code: "custom", message: `"${source.slice(0, 100)}" ${(error as Error).message}` });
        return z.NEVER;
      }
    }),
    // Inngest spreads a tick's start over the jitter; one run a tick here starts on the tick.
    jitter: z.undefined({ error: "cron jitter is not supported" }).optional(),
  })
  .strict();
/** An event trigger or a cron trigger, each with its own errors (a union would only say "invalid"). */
const trigger = z.unknown().transform((value, context) => {
  const isCron = typeof value === "object" && value !== null && "cron" in value;
  const parsed = isCron ? cronTrigger.safeParse(value) : eventTrigger.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    context.addIssue({ code: "custom", message: issue.message, path: issue.path });
  }
  return z.NEVER;
});
const concurrencyOption = z
  .object({
    limit: positiveInt,
    key: optionalExpression,
    scope: z
      .string()
      .refine((scope) => scope === "fn", { message: 'only scope "fn" is supported (env and account are not)' })
      .optional(),
  })
  .strict();

const functionConfig = z.object({
  id: z.string().min(1),
  name: z.string().optional(),
  triggers: z.array(z.unknown()).min(1, "no triggers").pipe(z.array(trigger)),
  steps: z
    .object({
      step: z.object({
        id: z.string().optional(),
        name: z.string().optional(),
        runtime: z.object({ type: z.literal("http").optional(), url: z.url({ protocol: /^https?$/ }) }),
        retries: z.object({ attempts: z.number().int().min(0).max(20).optional() }).optional(),
      }),
    })
    .strict(),
  idempotency: optionalExpression,
  throttle: z
    .object({
      limit: positiveInt,
      period: duration,
      key: optionalExpression,
      burst: z.number().int().min(0).optional(),
    })
    .strict()
    .nullish(),
  rateLimit: z.object({ limit: positiveInt, period: duration, key: optionalExpression }).strict().nullish(),
  // A number, one option or a list: normalised to a list. Inngest allows two limits per function.
  concurrency: z.preprocess(
    (value) =>
      typeof value === "number" ? [{ limit: value }] : Array.isArray(value) || value == null ? value : [value],
    z.array(concurrencyOption).max(2, "at most 2 concurrency limits").nullish(),
  ),
});

export class FunctionConfigError extends Error {
  override name = "FunctionConfigError";
}

/** Compiles one function of a sync; throws FunctionConfigError naming what it cannot honour. */
export function compileFunction(raw: unknown, appName: string): SyncedFunction {
  const id = raw && typeof raw === "object" && "id" in raw && typeof raw.id === "string" ? raw.id : "(no id)";
  const refuse = (what: string): never => {
    throw new FunctionConfigError(`function ${id}: ${what}`);
  };
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return refuse("not an object");
  for (const [option, value] of Object.entries(raw)) {
    if (value === undefined || value === null) continue;
    if (UNSUPPORTED.includes(option)) refuse(`option "${option}" is not supported by the dev executor`);
    if (!(option in functionConfig.shape)) refuse(`option "${option}" is not understood by the dev executor`);
  }
  const parsed = functionConfig.safeParse(raw);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    return refuse(`${issue?.path.join(".") || "config"}: ${issue?.message ?? "invalid"}`);
  }
  const config = parsed.data;
  return {
    id: config.id,
    appName,
    internalId: internalFunctionId(config.id),
    stepUrl: config.steps.step.runtime.url,
    triggers: config.triggers.filter((trigger) => "event" in trigger),
    schedules: config.triggers.flatMap((trigger) => ("cron" in trigger ? [trigger.cron] : [])),
    retries: config.steps.step.retries?.attempts ?? DEFAULT_RETRIES,
    idempotency: config.idempotency,
    throttle: config.throttle
      ? {
          key: config.throttle.key,
          // Inngest's default burst is 0 (pkg/inngest/function.go, Throttle): starts are spread evenly.
          limit: { limit: config.throttle.limit, periodMs: config.throttle.period, burst: config.throttle.burst ?? 0 },
        }
      : null,
    rateLimit: config.rateLimit
      ? {
          key: config.rateLimit.key,
          // Inngest gives rate limits a burst of a tenth of the limit (pkg/constraintapi/lua.go).
          limit: {
            limit: config.rateLimit.limit,
            periodMs: config.rateLimit.period,
            burst: Math.floor(config.rateLimit.limit / 10),
          },
        }
      : null,
    concurrency: (config.concurrency ?? []).map((option) => ({ key: option.key, limit: option.limit })),
  };
}

/** A stable UUID for a function id (name-based, SHA-1, as RFC 9562's version 5). */
function internalFunctionId(functionId: string): string {
  const hex = createHash("sha1").update(`callflow-dev-executor:${functionId}`).digest("hex");
  const variant = ((Number.parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}
