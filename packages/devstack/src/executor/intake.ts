// Receiving events (POST /e/:key, step.sendEvent, the failure events of runs): each is
// stored, resumes the waits it matches and starts the runs it triggers, in one transaction.
import { z } from "zod";
import { newUlid, seededUlid } from "./event-ids.ts";
import { canonicalJson, evaluate, parseExpression, scalarLeaves } from "./expression.ts";
import type { SyncedFunction } from "./function-config.ts";
import type { FunctionRegistry } from "./function-registry.ts";
import { rateLimitAdmission, throttleSlot } from "./gcra.ts";
import { type ExecutorLog, traceOf } from "./log.ts";
import { type EventPayload, newRunState, type RunState } from "./run-state.ts";
import { type ParkedRun, storeEvent } from "./store/events-store.ts";
import { claimAndLockLimits } from "./store/limits-store.ts";
import {
  type Claim,
  insertLimitedRun,
  type LimitState,
  type NewRun,
  type ReadyRun,
  resumeParked,
} from "./store/runs-store.ts";
import type { Db } from "./store/schema.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/** An event as senders post it (docs/SDK_SPEC.md 1.3.4); the executor fills in id and ts. */
export const incomingEventSchema = z.object({
  name: z.string().min(1, "has no name").max(512),
  data: z.record(z.string(), z.unknown()).nullish(),
  id: z.string().max(512).nullish(),
  ts: z.number().nullish(),
  user: z.record(z.string(), z.unknown()).nullish(),
  v: z.string().max(64).nullish(),
});
export type IncomingEvent = z.infer<typeof incomingEventSchema>;

/** What a transaction of received events did, for the scheduler once it has committed. */
export interface Ingested {
  /** The events' internal ids, in order. */
  ids: string[];
  created: RunState[];
  /** Runs whose wait an event ended: the step's result is `resultJson`, since `resumedAt`. */
  resumed: ResumedRun[];
}

export interface ResumedRun extends ReadyRun {
  stepId: string;
  resultJson: string;
  resumedAt: Date;
}

export interface Intake {
  /** Stores the events and acts on them in one transaction; returns their internal ids. */
  receive(events: IncomingEvent[], seed: string | null): Promise<string[]>;
  /** The same inside the caller's transaction; hand the result to `announce` after it commits. */
  ingest(trx: Db, events: IncomingEvent[], seed: string | null, now: Date): Promise<Ingested>;
  announce(ingested: Ingested): void;
  /** A cron tick: stores its event and starts the one function it is for, in the caller's transaction. */
  ingestScheduled(trx: Db, fn: SyncedFunction, event: EventPayload, now: Date): Promise<Ingested>;
}

export function createIntake(deps: {
  db: Db;
  functions: FunctionRegistry;
  log: ExecutorLog;
  onReady(ingested: Ingested): void;
}): Intake {
  const { db, functions, log } = deps;

  async function ingest(trx: Db, events: IncomingEvent[], seed: string | null, now: Date): Promise<Ingested> {
    const ingested: Ingested = { ids: [], created: [], resumed: [] };
    for (const [index, incoming] of events.entries()) {
      const internalId = (seed ? seededUlid(seed, index) : null) ?? newUlid(now.getTime());
      ingested.ids.push(internalId);
      const event: EventPayload = {
        name: incoming.name,
        data: incoming.data ?? {},
        id: incoming.id || internalId,
        ts: incoming.ts ?? now.getTime(),
        ...(incoming.user ? { user: incoming.user } : {}),
        ...(incoming.v ? { v: incoming.v } : {}),
      };
      const payloadJson = canonicalJson(event);
      const cutoff = new Date(now.getTime() - DAY_MS);
      const triggered = [...functions.all()].filter((fn) => triggers(fn, event));
      const planned = triggered.map((fn) => planRun(fn, event, now));
      const unlimited = planned.filter(({ fn }) => fn.rateLimit === null && fn.throttle === null);
      const stored = await storeEvent(
        trx,
        { internalId, id: event.id, name: event.name, payloadJson },
        unlimited,
        scalarLeaves(event),
        now,
        cutoff,
      );
      const created = new Set(stored.created);
      for (const { fn, run } of unlimited) {
        if (created.has(run.runId)) ingested.created.push(logCreated(fn, event, run));
        else skipped(fn, event, "already ran for this key");
      }
      // Every event is matched against waits, a repeated id too: Inngest handles pauses for
      // each event it receives (inngest/inngest pkg/execution/runner/runner.go, handleMessage).
      ingested.resumed.push(...(await resumeWaits(trx, stored.waits, event, payloadJson, now)));
      for (const plan of planned) {
        if (unlimited.includes(plan)) continue;
        const run = await startLimitedRun(trx, plan, event, now, cutoff);
        if (run) ingested.created.push(run);
      }
    }
    return ingested;
  }

  async function resumeWaits(
    trx: Db,
    waits: ParkedRun[],
    event: EventPayload,
    payloadJson: string,
    now: Date,
  ): Promise<ResumedRun[]> {
    const resumed: ResumedRun[] = [];
    const resultJson = `{"data":${payloadJson}}`;
    for (const run of waits) {
      if (run.wait_if && !waitMatches(run.wait_if, run.event, event)) continue;
      if (await resumeParked(trx, run.run_id, run.pending_step, resultJson, now)) {
        log({ level: "debug", msg: "wait matched", runId: run.run_id, eventId: event.id });
        resumed.push({
          runId: run.run_id,
          functionId: run.function_id,
          concurrencyKeys: run.concurrency_keys ?? [],
          stepId: run.pending_step,
          resultJson,
          resumedAt: now,
        });
      }
    }
    return resumed;
  }

  /** The function's run for the event as it would start now, with the keys it claims. */
  function planRun(fn: SyncedFunction, event: EventPayload, now: Date): NewRun & { fn: SyncedFunction } {
    const scope = { event };
    // The event id is the idempotency key of the runs it schedules, per function
    // (pkg/execution/runner/runner.go, Initialize); an `idempotency` expression adds its own.
    const claims: Claim[] = [{ scope: `event:${fn.id}`, key: event.id }];
    const idempotencyKey = fn.idempotency ? evaluate(fn.idempotency, scope) : null;
    // An event without the key's field is not held back by the others without it.
    if (idempotencyKey !== null) claims.push({ scope: `idempotency:${fn.id}`, key: keyText(idempotencyKey) });
    const run = newRunState({
      runId: newUlid(now.getTime()),
      functionId: fn.id,
      event,
      createdAt: now,
      startAt: now,
      concurrencyKeys: fn.concurrency.map(
        (limit, index) => `${fn.id}#${index}:${limit.key ? keyText(evaluate(limit.key, scope)) : ""}`,
      ),
    });
    return { fn, run, claims };
  }

  /**
   * Creates a rate-limited or throttled run, unless a claim or the rate limit stops it: the
   * claims come first (with the limits' state, locked), so a repeated event uses up no admission.
   */
  async function startLimitedRun(
    trx: Db,
    { fn, run, claims }: NewRun & { fn: SyncedFunction },
    event: EventPayload,
    now: Date,
    cutoff: Date,
  ): Promise<RunState | null> {
    const scope = { event };
    const rate = fn.rateLimit ? { scope: `rate:${fn.id}`, key: limitKey(fn.rateLimit.key, scope) } : null;
    const throttle = fn.throttle ? { scope: `throttle:${fn.id}`, key: limitKey(fn.throttle.key, scope) } : null;
    const limits = [rate, throttle].filter((limit) => limit !== null);
    const locked = await claimAndLockLimits(trx, claims, limits, now, cutoff);
    if (!locked.claimed) return skipped(fn, event, "already ran for this key");
    const saves: LimitState[] = [];
    let startAt = now.getTime();
    if (fn.rateLimit && rate) {
      const admission = rateLimitAdmission(locked.tats[0] ?? null, startAt, fn.rateLimit.limit);
      // Inngest drops an event beyond the rate limit: no run (pkg/execution/ratelimit).
      if (!admission.admitted) return skipped(fn, event, "rate limited", "info");
      saves.push({ ...rate, tat_ms: admission.tat });
    }
    if (fn.throttle && throttle) {
      const slot = throttleSlot(locked.tats[limits.indexOf(throttle)] ?? null, startAt, fn.throttle.limit);
      saves.push({ ...throttle, tat_ms: slot.tat });
      startAt = slot.startAt;
    }
    run.nextAt = new Date(startAt);
    await insertLimitedRun(trx, run, saves);
    return logCreated(fn, event, run);
  }

  function logCreated(fn: SyncedFunction, event: EventPayload, run: RunState) {
    const startAt = run.nextAt.getTime();
    log({
      level: "debug",
      msg: "run created",
      runId: run.runId,
      functionId: fn.id,
      eventId: event.id,
      startAt,
      ...traceOf(event),
    });
    return run;
  }

  function skipped(fn: SyncedFunction, event: EventPayload, reason: string, level: "debug" | "info" = "debug") {
    log({ level, msg: `no run: ${reason}`, functionId: fn.id, eventId: event.id, event: event.name });
    return null;
  }

  /** A cron tick's event for one function: stored, and that function's run created (no waits end). */
  async function ingestScheduled(trx: Db, fn: SyncedFunction, event: EventPayload, now: Date): Promise<Ingested> {
    const internalId = newUlid(now.getTime());
    const cutoff = new Date(now.getTime() - DAY_MS);
    const plan = planRun(fn, event, now);
    const limited = fn.rateLimit !== null || fn.throttle !== null;
    const row = { internalId, id: event.id, name: event.name, payloadJson: canonicalJson(event) };
    const stored = await storeEvent(trx, row, limited ? [] : [plan], [], now, cutoff);
    const run = limited
      ? await startLimitedRun(trx, plan, event, now, cutoff)
      : stored.created.includes(plan.run.runId)
        ? logCreated(fn, event, plan.run)
        : skipped(fn, event, "already ran for this key");
    return { ids: [internalId], created: run ? [run] : [], resumed: [] };
  }

  const intake: Intake = {
    ingest,
    ingestScheduled,
    announce: (ingested) => deps.onReady(ingested),
    async receive(events, seed) {
      const ingested = await retryOnConflict(() =>
        db.transaction().execute((trx) => ingest(trx, events, seed, new Date())),
      );
      intake.announce(ingested);
      return ingested.ids;
    },
  };
  return intake;
}

function triggers(fn: SyncedFunction, event: EventPayload): boolean {
  return fn.triggers.some(
    (trigger) =>
      trigger.event === event.name && (!trigger.expression || evaluate(trigger.expression, { event }) === true),
  );
}

function waitMatches(condition: string, runEvent: EventPayload, event: EventPayload): boolean {
  try {
    return evaluate(parseExpression(condition), { event: runEvent, async: event }) === true;
  } catch {
    return false;
  }
}

const keyText = (value: unknown) => (typeof value === "string" ? value : canonicalJson(value));
const limitKey = (key: Parameters<typeof evaluate>[0] | null, scope: Record<string, unknown>) =>
  key ? keyText(evaluate(key, scope)) : "";

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
