// The executor's HTTP surface, the parts of Inngest's API the SDK calls (docs/SDK_SPEC.md):
// event sends on the event key, syncs and the checkpoint API on the signing key's bearer
// (4.1.4), and a read API for runs behind the same bearer. Bad input gets a 4xx naming
// what is wrong; nothing here answers 500 but a fault of the executor itself.
import { Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { type AsyncCheckpoint, asyncCheckpointSchema, type CheckpointAnswer } from "./checkpoint.ts";
import { FunctionConfigError } from "./function-config.ts";
import type { FunctionRegistry } from "./function-registry.ts";
import { type IncomingEvent, type Intake, incomingEventSchema } from "./intake.ts";
import { type ExecutorLog, errorText } from "./log.ts";
import { type Signer, sameSecret } from "./signing.ts";

const MAX_BODY_BYTES = 16 * 1024 * 1024;

const syncSchema = z.object({
  url: z.url({ protocol: /^https?$/ }),
  appName: z.string().min(1).max(256),
  functions: z.array(z.unknown()).max(1000),
});

export interface HttpApiDeps {
  eventKey: string;
  signer: Signer;
  intake: Intake;
  functions: FunctionRegistry;
  checkpointAsync(runId: string, input: AsyncCheckpoint): Promise<CheckpointAnswer>;
  runs(limit: number): Promise<unknown[]>;
  log: ExecutorLog;
}

/** `{ error, status }`: the SDK reads a sync's or a send's outcome from the body's status. */
const failure = (status: number, error: string) => ({ error, status });

export function createHttpApi(deps: HttpApiDeps): Hono {
  const app = new Hono();
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json(failure(413, `request body larger than ${MAX_BODY_BYTES} bytes`), 413),
    }),
  );
  // As Inngest's API, the SDK authenticates with the hashed signing key (SDK_SPEC 4.1.4).
  const signed: MiddlewareHandler = async (c, next) => {
    if (!deps.signer.authorizes(c.req.header("authorization"))) {
      const error = "this needs Authorization: Bearer <the executor's hashed signing key>, as the SDK sends it";
      return c.json(failure(401, error), 401);
    }
    await next();
  };

  app.get("/health", (c) => c.json({ ok: true }));

  app.post("/e/:key", async (c) => {
    if (!sameSecret(c.req.param("key"), deps.eventKey)) return c.json(failure(401, "unknown event key"), 401);
    const body = await readJson(c.req.raw);
    if (!body.ok) return c.json(failure(400, body.error), 400);
    const events = parseEvents(body.value);
    if (!events.ok) return c.json(failure(400, events.error), 400);
    const ids = await deps.intake.receive(events.value, c.req.header("x-inngest-event-id-seed") || null);
    return c.json({ ids, status: 200 });
  });

  app.post("/fn/register", signed, async (c) => {
    const body = await readJson(c.req.raw);
    if (!body.ok) return c.json(failure(400, body.error), 400);
    const sync = syncSchema.safeParse(body.value);
    if (!sync.success)
      return c.json(failure(400, `a sync needs url, appName and functions: ${issues(sync.error)}`), 400);
    const { appName, url, functions } = sync.data;
    try {
      const { modified } = await deps.functions.sync(appName, url, functions);
      deps.log({ level: "info", msg: "app synced", appName, url, functions: deps.functions.ids() });
      return c.json({ ok: true, modified, status: 200 });
    } catch (error) {
      if (!(error instanceof FunctionConfigError)) throw error;
      deps.log({ level: "error", msg: "sync refused", appName, error: error.message });
      return c.json(failure(400, error.message), 400);
    }
  });

  app.post("/v1/checkpoint/:runId/async", signed, async (c) => {
    const body = await readJson(c.req.raw);
    if (!body.ok) return c.json(failure(400, body.error), 400);
    const input = asyncCheckpointSchema.safeParse(body.value);
    if (!input.success) return c.json(failure(400, `invalid checkpoint: ${issues(input.error)}`), 400);
    const answer = await deps.checkpointAsync(c.req.param("runId"), input.data);
    return answer.status === 200 ? c.json({}) : c.json(failure(answer.status, answer.error ?? ""), answer.status);
  });
  // Durable endpoints (runs started by an HTTP request, checkpointed in sync mode) are not run here.
  app.post("/v1/checkpoint", signed, (c) =>
    c.json(failure(404, "durable endpoints are not supported by the dev executor"), 404),
  );
  app.post("/v1/checkpoint/:runId/steps", signed, (c) =>
    c.json(failure(404, "durable endpoints are not supported by the dev executor"), 404),
  );

  app.get("/runs", signed, async (c) => {
    const limit = z.coerce.number().int().min(1).max(10_000).default(1000).safeParse(c.req.query("limit"));
    if (!limit.success) return c.json(failure(400, "limit must be an integer from 1 to 10000"), 400);
    return c.json(await deps.runs(limit.data));
  });

  app.notFound((c) => c.json(failure(404, `the dev executor has no route for ${c.req.method} ${c.req.path}`), 404));
  app.onError((error, c) => {
    deps.log({ level: "error", msg: "request failed", path: c.req.path, error: errorText(error) });
    return c.json(failure(500, "the dev executor failed; see its log"), 500);
  });
  return app;
}

async function readJson(request: Request): Promise<{ ok: true; value: unknown } | { ok: false; error: string }> {
  const text = await request.text();
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, error: "the body is not JSON" };
  }
}

function parseEvents(value: unknown): { ok: true; value: IncomingEvent[] } | { ok: false; error: string } {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) return { ok: false, error: "no events" };
  if (list.length > 5000) return { ok: false, error: "at most 5000 events in a send" };
  const events: IncomingEvent[] = [];
  const problems: string[] = [];
  for (const [index, item] of list.entries()) {
    const parsed = incomingEventSchema.safeParse(item);
    if (parsed.success) events.push(parsed.data);
    else problems.push(`event ${index}: ${issues(parsed.error)}`);
  }
  return problems.length ? { ok: false, error: problems.slice(0, 10).join("; ") } : { ok: true, value: events };
}

const issues = (error: z.ZodError) =>
  error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join(".") || "body"} ${issue.message}`)
    .join("; ");
