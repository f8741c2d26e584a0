// The Stripe sandbox's account on disk, so a restarted local product still finds the
// customers and subscriptions its database names. One JSON file, versioned; read once at
// start (a file that cannot be read stops the start with the reason: it is never silently
// replaced) and rewritten whole after changes: to a temporary file, flushed, then renamed
// over the old one, so a crash leaves either the previous file or the new one.
//
// Saves are group commits: one write at a time, and the changes made while it runs go out
// together in the next. A request that changed the account is answered once its change is
// on disk; reads never wait for the disk.
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import type { SavedAccount } from "./stripe-sandbox-account.ts";
import type { SavedIdempotencyKey } from "./stripe-sandbox-idempotency.ts";
import type { SavedWebhooks } from "./stripe-sandbox-webhooks.ts";

/** The file format's version: raise it when the layout changes, and read the old one or refuse it. */
export const STRIPE_SANDBOX_STATE_VERSION = 1;

export interface SandboxState extends SavedWebhooks {
  version: typeof STRIPE_SANDBOX_STATE_VERSION;
  /** The API version the objects were built for. */
  apiVersion: string;
  savedAt: string;
  account: SavedAccount;
  idempotencyKeys: SavedIdempotencyKey[];
}

/** A state file the sandbox cannot start from, with what is wrong and what to do. */
export class StripeSandboxStateError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(
      `Cannot start the Stripe sandbox from its state file ${path}: ${reason}. The file is left as it is: restore it, or move it away to start with an empty Stripe account (CallFlow's database still names the customers and subscriptions it held).`,
    );
    this.name = "StripeSandboxStateError";
  }
}

/** Where a save writes before the rename; a crash mid-save may leave it behind, and the next start ignores it. */
export const stateTempPath = (path: string) => `${path}.tmp`;

const isoDate = z.iso.datetime();
/** A Stripe object of one kind. Only the envelope is checked: the objects are the sandbox's own. */
const stripeObject = <Kind extends string>(kind: Kind) =>
  z.looseObject({ id: z.string().min(1), object: z.literal(kind) });

const stateSchema = z
  .object({
    version: z.literal(STRIPE_SANDBOX_STATE_VERSION),
    apiVersion: z.string().min(1),
    savedAt: isoDate,
    account: z.object({
      portalConfiguration: z.string().startsWith("bpc_"),
      products: z.array(stripeObject("product")),
      prices: z.array(stripeObject("price")),
      customers: z.array(stripeObject("customer")),
      subscriptions: z.array(stripeObject("subscription")),
      invoices: z.array(stripeObject("invoice")),
      checkoutSessions: z.array(
        z.object({
          session: stripeObject("checkout.session"),
          price: stripeObject("price"),
          quantity: z.number().int().min(1),
          subscriptionMetadata: z.record(z.string(), z.string()),
          subscriptionDescription: z.string().nullable(),
        }),
      ),
      portalSessions: z.array(stripeObject("billing_portal.session")),
      periodNumbers: z.array(z.tuple([z.string().min(1), z.number().int().min(1)])),
    }),
    events: z.array(
      stripeObject("event").extend({ type: z.string().min(1), data: z.looseObject({ object: z.looseObject({}) }) }),
    ),
    deliveries: z.array(
      z.object({
        eventId: z.string().min(1),
        type: z.string().min(1),
        attempt: z.number().int().min(1),
        url: z.string(),
        signature: z.string(),
        startedAt: isoDate,
        responseStatus: z.number().int().nullable(),
        error: z.string().nullable(),
      }),
    ),
    outstandingDeliveries: z.array(
      z.object({ eventId: z.string().min(1), attempt: z.number().int().min(1), dueAt: isoDate }),
    ),
    idempotencyKeys: z.array(
      z.object({
        key: z.string().min(1).max(255),
        endpoint: z.string().min(1),
        fingerprint: z.string(),
        response: z.object({ status: z.number().int().min(100).max(599), body: z.string() }),
        expiresAt: isoDate,
      }),
    ),
  })
  .superRefine((state, context) => {
    const eventIds = new Set(state.events.map((event) => event.id));
    state.outstandingDeliveries.forEach((entry, index) => {
      if (!eventIds.has(entry.eventId)) {
        context.addIssue({
          code: "custom",
          path: ["outstandingDeliveries", index, "eventId"],
          message: `names event ${entry.eventId}, which the file does not hold`,
        });
      }
    });
  });

/** The saved state, or null when there is no file yet. Throws StripeSandboxStateError for any other file. */
export async function readSandboxState(path: string, apiVersion: string): Promise<SandboxState | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new StripeSandboxStateError(path, `it cannot be read (${(error as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new StripeSandboxStateError(path, `it is not valid JSON (${(error as Error).message})`);
  }
  const version = typeof json === "object" && json !== null && "version" in json ? json.version : undefined;
  if (typeof version !== "number") {
    throw new StripeSandboxStateError(path, "it has no format version, so it is not a Stripe sandbox state file");
  }
  if (version !== STRIPE_SANDBOX_STATE_VERSION) {
    throw new StripeSandboxStateError(
      path,
      `it is in format version ${version}, and this sandbox reads version ${STRIPE_SANDBOX_STATE_VERSION} only${version > STRIPE_SANDBOX_STATE_VERSION ? " (a newer CallFlow wrote it)" : ""}`,
    );
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join(".") || "(top)"}: ${issue.message}`);
    throw new StripeSandboxStateError(path, `its content is not what version ${version} holds (${issues.join("; ")})`);
  }
  if (parsed.data.apiVersion !== apiVersion) {
    throw new StripeSandboxStateError(
      path,
      `its objects have the shapes of Stripe API version ${parsed.data.apiVersion}, and this sandbox serves ${apiVersion}`,
    );
  }
  // The envelope is checked above; the objects inside are the ones this sandbox wrote.
  return parsed.data as unknown as SandboxState;
}

/** How long a failed background save waits before it tries again. */
const RETRY_AFTER_FAILURE_MS = 1_000;

/** Writes the state file after changes, durably, one write at a time. */
export class SandboxStateFile {
  /** Counts save() calls: changes asked to be saved, and the newest of them on disk. */
  private asked = 0;
  private saved = 0;
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private failing = false;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly snapshot: () => SandboxState,
    /** Told when a save nobody waits for fails (it is tried again); requests get their own failure. */
    private readonly onBackgroundFailure: (error: Error) => void,
  ) {}

  /** The directory, made once: a directory that cannot be made fails the start, not the first save. */
  async prepare() {
    await mkdir(dirname(this.path), { recursive: true });
  }

  /** Resolves once the state as it is now (at least) is on disk; rejects when that write failed. */
  save(): Promise<void> {
    this.asked += 1;
    if (!this.queued) {
      // After the write in flight: its snapshot was taken before this change.
      const previous = this.inFlight ?? Promise.resolve();
      const next = () => this.writeNow();
      this.queued = previous.then(next, next);
    }
    return this.queued;
  }

  /** save() for changes nobody waits for: a failure is reported and tried again. */
  saveInBackground() {
    if (this.closed) return;
    this.save().catch((error: Error) => {
      if (!this.failing) this.onBackgroundFailure(error);
      this.failing = true;
      if (this.retryTimer || this.closed) return;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (this.saved < this.asked) this.saveInBackground();
      }, RETRY_AFTER_FAILURE_MS);
      this.retryTimer.unref();
    });
  }

  /** Resolves once every change asked so far is on disk, writing again if the last write failed. */
  async flush(): Promise<void> {
    while (this.saved < this.asked) {
      await (this.queued ?? this.inFlight ?? this.save());
    }
  }

  /** The last save, then no more. */
  async close() {
    try {
      await this.flush();
    } finally {
      this.closed = true;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
  }

  private writeNow(): Promise<void> {
    // Changes from here on belong to the next write.
    this.queued = null;
    const covers = this.asked;
    const text = JSON.stringify(this.snapshot());
    const write = writeAtomically(this.path, text).then(() => {
      this.saved = Math.max(this.saved, covers);
      this.failing = false;
    });
    this.inFlight = write;
    const clear = () => {
      if (this.inFlight === write) this.inFlight = null;
    };
    write.then(clear, clear);
    return write;
  }
}

/** The new content in a temporary file, flushed to the disk, renamed over the old file, and the rename flushed. */
async function writeAtomically(path: string, text: string) {
  const temp = stateTempPath(path);
  const file = await open(temp, "w", 0o600);
  try {
    await file.writeFile(text, "utf8");
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
  await syncDirectory(dirname(path));
}

/** The rename is durable once the directory is flushed; some platforms cannot open a directory to flush it. */
async function syncDirectory(directory: string) {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(directory, "r");
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EISDIR" && code !== "EPERM" && code !== "EINVAL" && code !== "EBADF") throw error;
  } finally {
    await handle?.close();
  }
}
