// Local mode's stand-in for Inngest: an HTTP server speaking the part of Inngest's protocol
// (inngest/inngest docs/SDK_SPEC.md) that the SDK v4 uses, to the app's real /api/inngest
// endpoint. It takes event sends (`POST /e/:eventKey`) and function syncs
// (`POST /fn/register`), and runs functions by calling the endpoint with the event and the
// memoised step state, signed the way Inngest Cloud signs (`X-Inngest-Signature`).
//
// Supported: event triggers by exact name (with an `if` expression), step.run (immediate
// and planned, also in parallel), sleep / sleepUntil, waitForEvent (match / if, timeout),
// sendEvent, retries with exponential backoff (per step, and per request for errors outside
// steps; `Retry-After` honoured), NonRetriableError (`X-Inngest-No-Retry: true`), onFailure
// (`inngest/function.failed`), event-id dedupe and idempotency keys over 24 h, throttle
// (runs beyond the limit start later). Refused at sync, naming the option: concurrency,
// rateLimit, debounce, batchEvents, cancelOn, priority, timeouts, singleton, cron and
// wildcard triggers, expressions beyond dev-executor-expression.ts. A step op it does not
// know (invoke, AI gateway, signals, …) fails the run with an error naming it.
//
// Run state lives in Postgres (schema `devstack`, see dev-executor-store.ts): after a
// restart, unfinished runs continue, and a step whose result was recorded is never run
// again because its result goes back to the SDK as memoised state.
import { createHash, createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Database } from "@callflow/db";
import {
  asyncEqualityKey,
  canonicalJson,
  type Expression,
  ExpressionError,
  evaluate,
  parseDuration,
  parseExpression,
  resolveWakeTime,
  scalarLeaves,
} from "./dev-executor-expression.ts";
import {
  claimKey,
  commitSteps,
  countPending,
  type Db,
  type EventPayload,
  ensureSchema,
  insertEvent,
  insertRun,
  listRuns,
  loadFunctions,
  loadRun,
  pruneSeenKeys,
  type RunPatch,
  type RunRow,
  type RunStatus,
  recentStarts,
  replaceAppFunctions,
  resumeParked,
  resumeParkedIn,
  type StepResult,
  type StepRow,
  upcoming,
  updateRun,
  waitingFor,
} from "./dev-executor-store.ts";

export interface DevExecutorOptions {
  /** Run state goes into its own schema (`devstack`) of this database, created at start. */
  database: Database;
  /** 0 (the default): any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** `signkey-<env>-<hex>`: requests to the app are signed with it, as Inngest Cloud signs them. */
  signingKey: string;
  /** When set, `POST /e/<key>` with another key is refused. */
  eventKey?: string;
  /** The app's /api/inngest URL: when given, the executor asks the app to sync (PUT) once it listens. */
  appUrl?: string;
  /** Delay before retry n (0-based) is min(maxMs, baseMs * 2^n). Default 1 s, 60 s. */
  backoff?: { baseMs: number; maxMs: number };
  /** Runs driven at once. Default 16. */
  maxConcurrency?: number;
  /** One call to the app; a call that takes longer is retried. Default 5 minutes. */
  requestTimeoutMs?: number;
  /** One structured line per event worth knowing (sync, run start/end, retries; each call at level "debug"). */
  log?: (line: Record<string, unknown>) => void;
}

export interface RunSummary {
  runId: string;
  functionId: string;
  /** pending: has a request to make (now, or after a retry delay or a throttle). */
  status: RunStatus;
  event: EventPayload;
  attempt: number;
  /** Memoised steps. */
  steps: number;
  output: unknown;
  error: unknown;
  createdAt: Date;
  endedAt: Date | null;
  /** When the run next needs the executor (its next request, timer or wait timeout); null when ended. */
  nextAt: Date | null;
  /** The event a waiting run waits for. */
  waitingFor: string | null;
}

export interface DevExecutor {
  /** The base URL for the SDK: `INNGEST_BASE_URL` / the client's `baseUrl`. */
  url: string;
  stop(): Promise<void>;
  runs(): Promise<RunSummary[]>;
  /** Resolves once no run is being driven or has a request to make; sleeping and waiting runs do not count. */
  whenIdle(): Promise<void>;
  /** Asks the app at `url` (default: `appUrl`) to sync: `PUT <url>`. */
  syncApp(url?: string): Promise<void>;
}

/** What the executor understands of a synced function. */
interface SyncedFunction {
  id: string;
  appName: string;
  stepUrl: string;
  triggers: Array<{ event: string; expression: Expression | null }>;
  idempotency: Expression | null;
  throttle: { key: Expression | null; limit: number; periodMs: number } | null;
  /** Retries after the first attempt. */
  retries: number;
}

/** Options of a function config that change how runs behave, which this executor does not implement. */
const UNSUPPORTED_OPTIONS = [
  "concurrency",
  "rateLimit",
  "debounce",
  "batchEvents",
  "cancel",
  "priority",
  "timeouts",
  "singleton",
];
const KNOWN_OPTIONS = new Set(["id", "name", "triggers", "steps", "idempotency", "throttle", ...UNSUPPORTED_OPTIONS]);
const DEFAULT_RETRIES = 3;
const DAY_MS = 24 * 60 * 60 * 1000;
const FUNCTION_FAILED = "inngest/function.failed";
/** How long an app that refuses connections (not listening: restarting) may do so before attempts count. */
const REFUSED_GRACE_MS = 60_000;

export async function startDevExecutor(options: DevExecutorOptions): Promise<DevExecutor> {
  const db: Db = options.database.owner;
  const backoff = options.backoff ?? { baseMs: 1000, maxMs: 60_000 };
  const maxConcurrency = options.maxConcurrency ?? 16;
  const requestTimeoutMs = options.requestTimeoutMs ?? 5 * 60_000;
  const log = (line: Record<string, unknown>) => options.log?.({ service: "dev-executor", ...line });
  const hmacKey = options.signingKey.replace(/^signkey-\w+-/, "");
  const hashedSigningKey = hashSigningKey(options.signingKey);

  await ensureSchema(db);
  await pruneSeenKeys(db, new Date(Date.now() - DAY_MS));

  const functions = new Map<string, SyncedFunction>();
  for (const row of await loadFunctions(db)) {
    try {
      functions.set(row.id, compileFunction(row.config, row.app_name));
    } catch (error) {
      log({
        level: "warn",
        msg: "stored function no longer valid; sync again",
        functionId: row.id,
        error: message(error),
      });
    }
  }

  // ---- the scheduler: one drive loop per run, at most maxConcurrency at once

  const active = new Map<string, Promise<void>>();
  const inFlight = new AbortController();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  // One scheduling pass at a time; a tick during one makes another follow it.
  let scheduling: Promise<void> | null = null;
  let tickAgain = false;

  const tick = () => {
    if (stopped) return;
    if (scheduling) {
      tickAgain = true;
      return;
    }
    tickAgain = false;
    scheduling = schedule().finally(() => {
      scheduling = null;
      if (tickAgain) tick();
    });
  };

  /**
   * Starts the due runs (capacity allowing: a run loop that ends ticks again) and sets the
   * timer for the first one that is not due yet.
   */
  const schedule = async (): Promise<void> => {
    try {
      const now = Date.now();
      const soonest = (await upcoming(db, maxConcurrency + active.size + 1)).filter((run) => !active.has(run.run_id));
      let capacity = maxConcurrency - active.size;
      for (const run of soonest) {
        if (capacity <= 0 || run.next_at.getTime() > now) break;
        startDrive(run.run_id);
        capacity--;
      }
      if (stopped) return;
      const next = soonest.find((run) => run.next_at.getTime() > now);
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (next) {
        timer = setTimeout(tick, Math.min(next.next_at.getTime() - Date.now(), 30_000));
        timer.unref();
      }
    } catch (error) {
      if (!stopped) {
        log({ level: "error", msg: "scheduler failed; trying again in 1 s", error: message(error) });
        timer = setTimeout(tick, 1000);
        timer.unref();
      }
    }
  };

  const startDrive = (runId: string) => {
    const driving = drive(runId)
      .catch((error) => {
        if (!stopped)
          log({ level: "error", msg: "run loop failed; it is picked up again", runId, error: message(error) });
      })
      .finally(() => {
        active.delete(runId);
        tick();
      });
    active.set(runId, driving);
  };

  /** Runs whose app refused connections, since when: see REFUSED_GRACE_MS. */
  const refused = new Map<string, { since: number; count: number }>();
  const delayFor = (attempt: number) => Math.min(backoff.maxMs, backoff.baseMs * 2 ** attempt);

  // ---- driving one run

  async function drive(runId: string): Promise<void> {
    // The run's state is read once; from then on this loop is its only writer (events
    // only touch sleeping and waiting runs), so it follows its own writes in memory.
    let state = await loadRun(db, runId);
    for (;;) {
      if (stopped || !state) return;
      const { run, steps } = state;
      if (run.status === "completed" || run.status === "failed") return;
      if (run.next_at.getTime() > Date.now()) return;
      if (run.status === "sleeping" || run.status === "waiting") {
        // The timer fired or the wait timed out: the step's result is null.
        if (run.pending_step) await resumeParked(db, run.run_id, run.pending_step, { data: null }, new Date());
        else await updateRun(db, run.run_id, { status: "pending" });
        state = await loadRun(db, runId);
        continue;
      }
      const fn = functions.get(run.function_id);
      if (!fn) {
        await failRun(run, { name: "Error", message: `function ${run.function_id} is not synced with the executor` });
        return;
      }
      const outcome = await call(fn, run, steps);
      if (outcome.kind === "aborted") return;
      const next = await handle(fn, run, steps, outcome);
      if (next === "stop") return;
      state = next;
    }
  }

  type RunState = { run: RunRow; steps: StepRow[] };
  type Next = "stop" | RunState;

  type Outcome =
    | { kind: "aborted" }
    | { kind: "unreachable"; error: string; refused: boolean }
    | { kind: "response"; status: number; headers: Headers; body: unknown };

  async function call(fn: SyncedFunction, run: RunRow, steps: StepRow[]): Promise<Outcome> {
    const stack = steps.map((step) => step.step_id);
    const body = {
      event: run.event,
      events: [run.event],
      steps: Object.fromEntries(steps.map((step) => [step.step_id, step.result])),
      ctx: {
        run_id: run.run_id,
        attempt: run.attempt,
        // Lets the SDK report a step's last failure as final (StepFailed).
        max_attempts: fn.retries + 1,
        disable_immediate_execution: run.disable_immediate,
        use_api: false,
        stack: { stack, current: stack.length },
      },
      version: 2,
    };
    const text = canonicalJson(body);
    const url = new URL(fn.stepUrl);
    url.searchParams.set("fnId", fn.id);
    url.searchParams.set("stepId", run.next_step);
    const started = performance.now();
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-inngest-signature": sign(text) },
        body: text,
        signal: AbortSignal.any([inFlight.signal, AbortSignal.timeout(requestTimeoutMs)]),
      });
      const raw = await response.text();
      let parsed: unknown = raw;
      try {
        parsed = raw === "" ? null : JSON.parse(raw);
      } catch {}
      log({
        level: "debug",
        msg: "call",
        runId: run.run_id,
        functionId: fn.id,
        stepId: run.next_step,
        attempt: run.attempt,
        status: response.status,
        ms: Math.round(performance.now() - started),
      });
      return { kind: "response", status: response.status, headers: response.headers, body: parsed };
    } catch (error) {
      if (inFlight.signal.aborted) return { kind: "aborted" };
      const cause = (error as { cause?: { code?: unknown; errors?: Array<{ code?: unknown }> } }).cause;
      const code = cause?.code ?? cause?.errors?.[0]?.code;
      return {
        kind: "unreachable",
        error: `${url.origin}${url.pathname} did not answer: ${message(error)}${code ? ` (${String(code)})` : ""}`,
        refused: code === "ECONNREFUSED",
      };
    }
  }

  function sign(body: string) {
    const at = Math.floor(Date.now() / 1000);
    const mac = createHmac("sha256", hmacKey)
      .update(body + at)
      .digest("hex");
    return `t=${at}&s=${mac}`;
  }

  async function handle(fn: SyncedFunction, run: RunRow, steps: StepRow[], outcome: Outcome): Promise<Next> {
    if (outcome.kind === "aborted") return "stop";
    if (outcome.kind === "unreachable" && outcome.refused) {
      // Nothing listens at the app's URL: it is (re)starting, as apps in development do.
      // That does not use up the run's attempts for a while.
      const refusals = refused.get(run.run_id) ?? { since: Date.now(), count: 0 };
      refusals.count++;
      refused.set(run.run_id, refusals);
      if (Date.now() - refusals.since < REFUSED_GRACE_MS) {
        const delay = Math.min(delayFor(refusals.count - 1), 5000);
        log({ level: "warn", msg: "the app refused the connection; trying again", runId: run.run_id, delayMs: delay });
        await updateRun(db, run.run_id, { next_at: new Date(Date.now() + delay) });
        return "stop";
      }
    }
    refused.delete(run.run_id);
    if (outcome.kind === "unreachable") return retryRequest(fn, run, { name: "Error", message: outcome.error }, null);
    const { status, headers, body } = outcome;
    if (status === 200) {
      await finishRun(run, body);
      return "stop";
    }
    if (status === 206) {
      if (!Array.isArray(body) || body.length === 0 || !body.every(isOp)) {
        return retryRequest(fn, run, { name: "Error", message: `206 without step ops: ${preview(body)}` }, null);
      }
      return handleOps(fn, run, steps, body, headers);
    }
    const error = asError(body, `the app answered ${status}`);
    if (headers.get("x-inngest-no-retry") === "true") {
      await failRun(run, error);
      return "stop";
    }
    return retryRequest(fn, run, error, headers.get("retry-after"));
  }

  async function handleOps(
    fn: SyncedFunction,
    run: RunRow,
    steps: StepRow[],
    ops: Op[],
    headers: Headers,
  ): Promise<Next> {
    const now = new Date();
    const memoised = new Set(steps.map((step) => step.step_id));
    if (ops.length === 1) {
      const op = ops[0] as Op;
      switch (op.op) {
        case "StepRun":
        case "Step":
          return memoise(run, steps, [{ stepId: op.id, result: { data: op.data ?? null } }], []);
        case "StepFailed":
          return memoise(run, steps, [{ stepId: op.id, result: { error: asError(op.error, "step failed") } }], []);
        case "StepError": {
          const error = asError(op.error, "step failed");
          const attempt = run.attempt + 1;
          if (attempt > fn.retries || headers.get("x-inngest-no-retry") === "true") {
            // Retries exhausted: the error becomes the step's final result.
            return memoise(run, steps, [{ stepId: op.id, result: { error } }], []);
          }
          log({
            level: "info",
            msg: "step failed; retrying",
            runId: run.run_id,
            step: op.displayName ?? op.id,
            attempt,
          });
          await updateRun(db, run.run_id, {
            attempt,
            next_step: op.id,
            next_at: new Date(now.getTime() + retryDelay(run.attempt, headers.get("retry-after"))),
          });
          return "stop";
        }
        case "StepPlanned":
          if (memoised.has(op.id)) {
            const error = { name: "Error", message: `the SDK planned step ${op.id}, whose result it was sent` };
            return retryRequest(fn, run, error, null);
          }
          return memoise(run, steps, [], [op.id]);
        case "Sleep": {
          const duration = typeof op.opts?.duration === "string" ? op.opts.duration : op.name;
          let wakeAt: number;
          try {
            wakeAt = resolveWakeTime(String(duration), now.getTime());
          } catch (error) {
            await failRun(run, { name: "Error", message: `Sleep "${op.displayName ?? op.id}": ${message(error)}` });
            return "stop";
          }
          await updateRun(db, run.run_id, {
            status: "sleeping",
            pending_step: op.id,
            next_at: new Date(wakeAt),
            attempt: 0,
          });
          return "stop";
        }
        case "WaitForEvent": {
          const eventName = typeof op.opts?.event === "string" ? op.opts.event : op.name;
          const condition = typeof op.opts?.if === "string" ? op.opts.if : null;
          let timeoutAt: number;
          let match: string | null = null;
          try {
            if (!eventName) throw new ExpressionError("no event name");
            timeoutAt = resolveWakeTime(String(op.opts?.timeout ?? ""), now.getTime());
            if (condition)
              match = asyncEqualityKey(parseExpression(condition, ["event", "async"]), { event: run.event });
          } catch (error) {
            await failRun(run, {
              name: "Error",
              message: `WaitForEvent "${op.displayName ?? op.id}" is not supported by the dev executor: ${message(error)}`,
            });
            return "stop";
          }
          await updateRun(db, run.run_id, {
            status: "waiting",
            pending_step: op.id,
            wait_event: eventName,
            wait_if: condition,
            wait_match: match,
            next_at: new Date(timeoutAt),
            attempt: 0,
          });
          return "stop";
        }
        case "RunComplete":
          await finishRun(run, op.data ?? null);
          return "stop";
      }
      await failRun(run, {
        name: "Error",
        message: `the dev executor does not support step op ${op.op} ("${op.displayName ?? op.id}")`,
      });
      return "stop";
    }
    // Parallel steps: results are memoised, planned steps are run one by one.
    const results: Array<{ stepId: string; result: StepResult }> = [];
    const planned: string[] = [];
    for (const op of ops) {
      if (op.op === "StepRun" || op.op === "Step") results.push({ stepId: op.id, result: { data: op.data ?? null } });
      else if (op.op === "StepFailed")
        results.push({ stepId: op.id, result: { error: asError(op.error, "step failed") } });
      else if (op.op === "StepPlanned") {
        if (!memoised.has(op.id)) planned.push(op.id);
      } else {
        await failRun(run, {
          name: "Error",
          message: `the dev executor does not support step op ${op.op} ("${op.displayName ?? op.id}") in parallel with other steps`,
        });
        return "stop";
      }
    }
    return memoise(run, steps, results, planned, ops.length > 1);
  }

  /** Records step results and planned steps; the run's next request follows at once. */
  async function memoise(
    run: RunRow,
    steps: StepRow[],
    results: Array<{ stepId: string; result: StepResult }>,
    planned: string[],
    parallel = false,
  ): Promise<RunState> {
    const known = new Set(steps.map((step) => step.step_id));
    const recorded: StepRow[] = [];
    for (const { stepId, result } of results) {
      if (known.has(stepId)) continue;
      known.add(stepId);
      recorded.push({ step_id: stepId, position: steps.length + recorded.length, result });
    }
    const queue = [...run.planned, ...planned.filter((id) => !run.planned.includes(id))].filter((id) => !known.has(id));
    const patch = {
      attempt: 0,
      planned: queue,
      next_step: queue[0] ?? "step",
      next_at: new Date(),
      disable_immediate: run.disable_immediate || parallel,
    } satisfies RunPatch;
    await commitSteps(db, run.run_id, recorded, patch);
    return { run: { ...run, ...patch }, steps: [...steps, ...recorded] };
  }

  function retryDelay(attempt: number, retryAfter: string | null): number {
    if (retryAfter) {
      const seconds = Number(retryAfter);
      if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
      const at = Date.parse(retryAfter);
      if (!Number.isNaN(at)) return Math.max(0, at - Date.now());
    }
    return delayFor(attempt);
  }

  async function retryRequest(
    fn: SyncedFunction,
    run: RunRow,
    error: SerializedError,
    retryAfter: string | null,
  ): Promise<Next> {
    const attempt = run.attempt + 1;
    if (attempt > fn.retries) {
      await failRun(run, error);
      return "stop";
    }
    const delay = retryDelay(run.attempt, retryAfter);
    log({
      level: "info",
      msg: "request failed; retrying",
      runId: run.run_id,
      attempt,
      delayMs: delay,
      error: error.message,
    });
    await updateRun(db, run.run_id, { attempt, next_at: new Date(Date.now() + delay) });
    return "stop";
  }

  async function finishRun(run: RunRow, output: unknown) {
    await updateRun(db, run.run_id, {
      status: "completed",
      output: output ?? null,
      ended_at: new Date(),
      pending_step: null,
      wait_event: null,
      wait_if: null,
      wait_match: null,
    });
    log({ level: "info", msg: "run completed", runId: run.run_id, functionId: run.function_id });
  }

  /** A final failure; the function's failure handler (if synced) runs on `inngest/function.failed`. */
  async function failRun(run: RunRow, error: SerializedError) {
    const now = new Date();
    await db.transaction().execute(async (trx) => {
      await updateRun(trx, run.run_id, {
        status: "failed",
        error,
        ended_at: now,
        pending_step: null,
        wait_event: null,
        wait_if: null,
        wait_match: null,
      });
      await ingest(
        trx,
        [
          {
            name: FUNCTION_FAILED,
            id: `function-failed-${run.run_id}`,
            data: { function_id: run.function_id, run_id: run.run_id, error, event: run.event },
            ts: now.getTime(),
          },
        ],
        null,
        now,
      );
    });
    log({ level: "warn", msg: "run failed", runId: run.run_id, functionId: run.function_id, error: error.message });
  }

  // ---- events

  interface IncomingEvent {
    name: string;
    id?: string;
    data?: Record<string, unknown>;
    user?: Record<string, unknown>;
    ts?: number;
    v?: string;
  }

  /**
   * Stores events (ignoring ids seen in the last 24 h), resumes the waits they match and
   * starts the runs they trigger. Returns the events' internal ids.
   */
  async function ingest(trx: Db, events: IncomingEvent[], seed: string | null, now: Date): Promise<string[]> {
    const ids: string[] = [];
    const cutoff = new Date(now.getTime() - DAY_MS);
    for (const [index, incoming] of events.entries()) {
      const internalId = seed ? seededUlid(seed, index) : ulid(now.getTime());
      ids.push(internalId);
      const event: EventPayload = {
        name: incoming.name,
        data: incoming.data ?? {},
        id: incoming.id || internalId,
        ts: incoming.ts ?? now.getTime(),
        ...(incoming.user ? { user: incoming.user } : {}),
        ...(incoming.v ? { v: incoming.v } : {}),
      };
      if (!(await claimKey(trx, "event", event.id, now, cutoff))) {
        log({ level: "debug", msg: "duplicate event ignored", eventId: event.id, name: event.name });
        continue;
      }
      await insertEvent(trx, internalId, event, now);

      for (const run of await waitingFor(trx, event.name, scalarLeaves(event))) {
        if (!run.pending_step) continue;
        let matched = true;
        if (run.wait_if) {
          try {
            matched = evaluate(parseExpression(run.wait_if), { event: run.event, async: event }) === true;
          } catch {
            matched = false;
          }
        }
        if (matched && (await resumeParkedIn(trx, run.run_id, run.pending_step, { data: event }, now))) {
          log({ level: "debug", msg: "wait matched", runId: run.run_id, eventId: event.id });
        }
      }

      for (const fn of functions.values()) {
        const trigger = fn.triggers.find(
          (candidate) =>
            candidate.event === event.name &&
            (!candidate.expression || evaluate(candidate.expression, { event }) === true),
        );
        if (!trigger) continue;
        if (fn.idempotency) {
          const key = evaluate(fn.idempotency, { event });
          if (key !== null && !(await claimKey(trx, `idempotency:${fn.id}`, keyText(key), now, cutoff))) {
            log({ level: "debug", msg: "idempotent: no second run", functionId: fn.id, key: keyText(key) });
            continue;
          }
        }
        let startAt = now;
        let throttleKey: string | null = null;
        if (fn.throttle) {
          throttleKey = fn.throttle.key ? keyText(evaluate(fn.throttle.key, { event })) : "";
          const starts = await recentStarts(trx, fn.id, throttleKey, fn.throttle.limit);
          const oldest = starts[fn.throttle.limit - 1];
          if (oldest && oldest.getTime() + fn.throttle.periodMs > now.getTime()) {
            startAt = new Date(oldest.getTime() + fn.throttle.periodMs);
          }
        }
        const runId = ulid(now.getTime());
        await insertRun(trx, { runId, functionId: fn.id, event, now, startAt, throttleKey });
        log({ level: "debug", msg: "run started", runId, functionId: fn.id, eventId: event.id, startAt });
      }
    }
    return ids;
  }

  // ---- HTTP

  const server = createServer((request, response) => {
    route(request, response).catch((error) => {
      log({ level: "error", msg: "request failed", url: request.url, error: message(error) });
      if (!response.headersSent) send(response, 500, { error: message(error), status: 500 });
      else response.end();
    });
  });

  async function route(request: IncomingMessage, response: ServerResponse) {
    const url = new URL(request.url ?? "/", "http://executor");
    const eventPath = /^\/e\/([^/]*)\/?$/.exec(url.pathname);
    if (request.method === "POST" && eventPath)
      return receiveEvents(request, response, decodeURIComponent(eventPath[1] ?? ""));
    if (request.method === "POST" && url.pathname === "/fn/register") return register(request, response);
    if (request.method === "GET" && (url.pathname === "/" || url.pathname === "/health")) {
      return send(response, 200, { ok: true, functions: [...functions.keys()] });
    }
    if (request.method === "GET" && url.pathname === "/runs") return send(response, 200, await summaries());
    send(response, 404, { error: `the dev executor has no route for ${request.method} ${url.pathname}`, status: 404 });
  }

  async function receiveEvents(request: IncomingMessage, response: ServerResponse, key: string) {
    if (options.eventKey && key !== options.eventKey) {
      return send(response, 401, { error: "unknown event key", status: 401 });
    }
    let payload: unknown;
    try {
      payload = JSON.parse(await readBody(request));
    } catch {
      return send(response, 400, { error: "the body is not JSON", status: 400 });
    }
    const list = Array.isArray(payload) ? payload : [payload];
    const problems = list.map(eventProblem).filter((problem): problem is string => problem !== null);
    if (problems.length) return send(response, 400, { error: problems.join("; "), status: 400 });
    const seedHeader = request.headers["x-inngest-event-id-seed"];
    const seed = typeof seedHeader === "string" && seedHeader ? seedHeader : null;
    const now = new Date();
    const ids = await retryOnConflict(() =>
      db.transaction().execute((trx) => ingest(trx, list as IncomingEvent[], seed, now)),
    );
    send(response, 200, { ids, status: 200 });
    tick();
  }

  async function register(request: IncomingMessage, response: ServerResponse) {
    const authorization = request.headers.authorization ?? "";
    const bearer = /^Bearer (signkey-\S+)$/i.exec(authorization)?.[1];
    if (bearer && bearer !== hashedSigningKey) {
      return send(response, 401, { error: "the sync is signed with another signing key", status: 401 });
    }
    let body: { url?: unknown; appName?: unknown; functions?: unknown };
    try {
      body = JSON.parse(await readBody(request));
    } catch {
      return send(response, 400, { error: "the body is not JSON", status: 400 });
    }
    const appName = typeof body.appName === "string" ? body.appName : "";
    const appUrl = typeof body.url === "string" ? body.url : "";
    if (!appName || !appUrl || !Array.isArray(body.functions)) {
      return send(response, 400, { error: "a sync needs url, appName and functions", status: 400 });
    }
    const compiled: Array<{ id: string; config: unknown; fn: SyncedFunction }> = [];
    const problems: string[] = [];
    for (const config of body.functions) {
      try {
        const fn = compileFunction(config, appName);
        compiled.push({ id: fn.id, config, fn });
      } catch (error) {
        problems.push(message(error));
      }
    }
    if (problems.length) {
      const error = `the dev executor cannot run ${appName}'s functions: ${problems.join("; ")}`;
      log({ level: "error", msg: "sync refused", appName, error });
      // The SDK reads the status from the body: without it, it would report success.
      return send(response, 400, { error, status: 400 });
    }
    const { removed } = await replaceAppFunctions(
      db,
      appName,
      appUrl,
      compiled.map(({ id, config }) => ({ id, config })),
    );
    let modified = removed.length > 0;
    for (const id of removed) functions.delete(id);
    for (const { id, fn } of compiled) {
      if (!functions.has(id)) modified = true;
      functions.set(id, fn);
    }
    log({ level: "info", msg: "app synced", appName, url: appUrl, functions: compiled.map(({ id }) => id) });
    send(response, 200, { ok: true, modified, status: 200 });
  }

  async function summaries(): Promise<RunSummary[]> {
    return (await listRuns(db)).map((row) => ({
      runId: row.run_id,
      functionId: row.function_id,
      status: row.status,
      event: row.event,
      attempt: row.attempt,
      steps: Number(row.step_count),
      output: row.output ?? null,
      error: row.error ?? null,
      createdAt: new Date(row.created_at),
      endedAt: row.ended_at ? new Date(row.ended_at) : null,
      nextAt: row.status === "completed" || row.status === "failed" ? null : new Date(row.next_at),
      waitingFor: row.status === "waiting" ? row.wait_event : null,
    }));
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${address.port}`;
  log({ level: "info", msg: "listening", url, functions: [...functions.keys()] });

  // Unfinished runs continue: due timers fire, waits keep waiting, interrupted requests are sent again.
  tick();

  async function syncApp(target = options.appUrl): Promise<void> {
    if (!target) throw new Error("no app URL to sync");
    const response = await fetch(target, { method: "PUT", signal: AbortSignal.timeout(30_000) });
    if (!response.ok) throw new Error(`PUT ${target} answered ${response.status}: ${await response.text()}`);
  }
  if (options.appUrl) {
    void (async () => {
      for (let attempt = 0; attempt < 10 && !stopped; attempt++) {
        try {
          await syncApp();
          return;
        } catch (error) {
          log({ level: "warn", msg: "app sync failed; trying again", url: options.appUrl, error: message(error) });
          await new Promise((resolve) => setTimeout(resolve, delayFor(attempt)).unref());
        }
      }
    })();
  }

  return {
    url,
    runs: summaries,
    syncApp,
    async whenIdle() {
      for (;;) {
        if (stopped) return;
        if (active.size === 0 && !scheduling && (await countPending(db)) === 0 && active.size === 0 && !scheduling)
          return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      inFlight.abort();
      await scheduling;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.allSettled([...active.values()]);
      log({ level: "info", msg: "stopped" });
    },
  };
}

// ---- function configs

function compileFunction(raw: unknown, appName: string): SyncedFunction {
  if (!isRecord(raw) || typeof raw.id !== "string" || !raw.id) throw new Error("a function without an id");
  const id = raw.id;
  const refuse = (what: string): never => {
    throw new Error(`function ${id}: ${what}`);
  };
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined || value === null) continue;
    if (UNSUPPORTED_OPTIONS.includes(key)) refuse(`option "${key}" is not supported by the dev executor`);
    if (!KNOWN_OPTIONS.has(key)) refuse(`option "${key}" is not understood by the dev executor`);
  }
  const expression = (source: unknown, what: string, roots: string[]) => {
    if (typeof source !== "string") return refuse(`${what} must be an expression string`);
    try {
      return parseExpression(source, roots);
    } catch (error) {
      return refuse(`${what} "${source}": ${message(error)}`);
    }
  };

  if (!Array.isArray(raw.triggers) || raw.triggers.length === 0) refuse("no triggers");
  const triggers = (raw.triggers as unknown[]).map((trigger) => {
    if (!isRecord(trigger)) return refuse("a trigger that is not an object");
    if (trigger.cron !== undefined) return refuse(`cron trigger "${String(trigger.cron)}" is not supported`);
    if (typeof trigger.event !== "string" || !trigger.event) return refuse("a trigger without an event name");
    if (trigger.event.includes("*")) return refuse(`wildcard trigger "${trigger.event}" is not supported`);
    const extra = Object.keys(trigger).filter(
      (key) => !["event", "expression"].includes(key) && trigger[key] !== undefined,
    );
    if (extra.length) refuse(`trigger option "${extra[0]}" is not supported`);
    return {
      event: trigger.event,
      expression:
        trigger.expression === undefined || trigger.expression === null || trigger.expression === ""
          ? null
          : expression(trigger.expression, "trigger expression", ["event"]),
    };
  });

  const step = isRecord(raw.steps) && isRecord(raw.steps.step) ? raw.steps.step : null;
  const runtime = step && isRecord(step.runtime) ? step.runtime : null;
  if (!runtime || typeof runtime.url !== "string") return refuse("no steps.step.runtime.url");
  if (runtime.type !== undefined && runtime.type !== "http")
    refuse(`runtime "${String(runtime.type)}" is not supported`);
  try {
    new URL(runtime.url);
  } catch {
    refuse(`step URL "${runtime.url}" is not a URL`);
  }
  if (isRecord(raw.steps) && Object.keys(raw.steps).some((key) => key !== "step")) refuse("more than one step entry");
  let retries = DEFAULT_RETRIES;
  if (step && isRecord(step.retries) && step.retries.attempts !== undefined) {
    const attempts = step.retries.attempts;
    if (typeof attempts !== "number" || !Number.isInteger(attempts) || attempts < 0 || attempts > 20) {
      refuse(`retries must be an integer from 0 to 20, not ${String(attempts)}`);
    }
    retries = attempts as number;
  }

  const idempotency =
    raw.idempotency === undefined || raw.idempotency === null
      ? null
      : expression(raw.idempotency, "idempotency", ["event"]);

  let throttle: SyncedFunction["throttle"] = null;
  if (raw.throttle !== undefined && raw.throttle !== null) {
    const config = raw.throttle;
    if (!isRecord(config)) return refuse("throttle must be an object");
    const extra = Object.keys(config).filter(
      (key) => !["key", "limit", "period", "burst"].includes(key) && config[key] !== undefined,
    );
    if (extra.length) refuse(`throttle option "${extra[0]}" is not supported`);
    if (config.burst !== undefined && config.burst !== 1) refuse("throttle burst is not supported");
    if (typeof config.limit !== "number" || !Number.isInteger(config.limit) || config.limit < 1) {
      refuse("throttle limit must be a positive integer");
    }
    let periodMs = 0;
    try {
      periodMs = parseDuration(String(config.period));
    } catch (error) {
      refuse(`throttle period: ${message(error)}`);
    }
    throttle = {
      key: config.key === undefined || config.key === null ? null : expression(config.key, "throttle key", ["event"]),
      limit: config.limit as number,
      periodMs,
    };
  }
  return { id, appName, stepUrl: runtime.url, triggers, idempotency, throttle, retries };
}

// ---- helpers

interface Op {
  id: string;
  op: string;
  name?: string;
  displayName?: string;
  data?: unknown;
  error?: unknown;
  opts?: Record<string, unknown>;
}

interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  [key: string]: unknown;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value);

const isOp = (value: unknown): value is Op =>
  isRecord(value) && typeof value.id === "string" && typeof value.op === "string";

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

const preview = (value: unknown) => {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text && text.length > 300 ? `${text.slice(0, 300)}…` : text;
};

/** The SDK's serialised error as it came, or one made from whatever the app answered. */
function asError(value: unknown, fallback: string): SerializedError {
  if (isRecord(value) && typeof value.message === "string") {
    return { ...value, name: typeof value.name === "string" ? value.name : "Error", message: value.message };
  }
  if (isRecord(value) && typeof value.error === "string") return { name: "Error", message: value.error };
  return {
    name: "Error",
    message: value === null || value === undefined ? fallback : `${fallback}: ${preview(value)}`,
  };
}

function eventProblem(value: unknown, index: number): string | null {
  if (!isRecord(value)) return `event ${index} is not an object`;
  if (typeof value.name !== "string" || !value.name) return `event ${index} has no name`;
  if (value.data !== undefined && value.data !== null && !isRecord(value.data))
    return `event ${index} (${value.name}): data must be an object`;
  if (value.id !== undefined && value.id !== null && typeof value.id !== "string")
    return `event ${index} (${value.name}): id must be a string`;
  if (value.ts !== undefined && value.ts !== null && typeof value.ts !== "number")
    return `event ${index} (${value.name}): ts must be a number`;
  if (value.user !== undefined && value.user !== null && !isRecord(value.user))
    return `event ${index} (${value.name}): user must be an object`;
  return null;
}

/** Postgres may abort one of two concurrent transactions (deadlock, serialization): run it again. */
async function retryOnConflict<T>(work: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (attempt >= attempts || (code !== "40P01" && code !== "40001")) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt));
    }
  }
}

const keyText = (value: unknown) => (typeof value === "string" ? value : canonicalJson(value));

async function readBody(request: IncomingMessage, limit = 16 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error(`request body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function send(response: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  response.end(text);
}

/** The Authorization bearer the SDK sends: the key's prefix + sha256 of its hex-decoded secret. */
function hashSigningKey(signingKey: string): string {
  const prefix = /^signkey-\w+-/.exec(signingKey)?.[0] ?? "";
  const secret = signingKey.slice(prefix.length);
  return `${prefix}${createHash("sha256").update(Buffer.from(secret, "hex")).digest("hex")}`;
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

function encodeUlid(time: number, random: Buffer): string {
  let timePart = "";
  let t = time;
  for (let i = 0; i < 10; i++) {
    timePart = CROCKFORD[t % 32] + timePart;
    t = Math.floor(t / 32);
  }
  let bits = 0n;
  for (const byte of random.subarray(0, 10)) bits = (bits << 8n) | BigInt(byte);
  let randomPart = "";
  for (let i = 0; i < 16; i++) {
    randomPart = CROCKFORD[Number(bits & 31n)] + randomPart;
    bits >>= 5n;
  }
  return timePart + randomPart;
}

const ulid = (time: number) => encodeUlid(time, randomBytes(10));

/** The SDK's `X-Inngest-Event-Id-Seed` ("<ms>,<entropy>"): a send it retries gets the same ids, so it is not run twice. */
function seededUlid(seed: string, index: number): string {
  const millis = Number(seed.split(",")[0]);
  const time = Number.isFinite(millis) && millis > 0 ? millis : Date.now();
  return encodeUlid(time, createHash("sha256").update(`${seed}:${index}`).digest());
}
