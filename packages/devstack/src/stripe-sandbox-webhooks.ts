// Event envelopes and their delivery, as Stripe does it: each event is posted as JSON to the
// endpoint with `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.payload">`
// under the endpoint secret, and retried with backoff while the endpoint fails. First
// attempts go out one at a time in the order events happened (unless held and released in
// another order); retries go out on their own schedule. What is still to be delivered is
// part of the account's state: a restarted sandbox goes on delivering it, as Stripe keeps
// retrying while its endpoint is down.
import { createHmac } from "node:crypto";
import type { EventRequest } from "./stripe-sandbox-account.ts";
import { type SandboxEvent, type SandboxEventType, stripeId } from "./stripe-sandbox-objects.ts";

/** One attempt to deliver one event. */
export interface StripeWebhookDelivery {
  eventId: string;
  type: SandboxEventType;
  /** 1 for the first attempt. */
  attempt: number;
  url: string;
  /** The Stripe-Signature header sent. */
  signature: string;
  startedAt: Date;
  /** The endpoint's HTTP status; null while in flight or when it never answered. */
  responseStatus: number | null;
  /** Why the attempt failed (no answer, a redirect, a non-2xx answer); null when it succeeded. */
  error: string | null;
}

/** Order in which held events are released. */
export type ReleaseOrder = "as-happened" | "reversed" | readonly string[];

/** `t=…,v1=…`: Stripe's signature header for a payload, at a time in Unix seconds. */
export function signStripePayload(payload: string, secret: string, timestamp: number): string {
  const signature = createHmac("sha256", secret).update(`${timestamp}.${payload}`, "utf8").digest("hex");
  return `t=${timestamp},v1=${signature}`;
}

export interface WebhookDispatcherOptions {
  url: string;
  secret: string;
  apiVersion: string;
  clock: () => Date;
  /** Waits before the 2nd, 3rd, … attempt; the event is given up after the last. */
  retryDelaysMs: readonly number[];
  timeoutMs: number;
  /** Called after each change to events, deliveries or what is still to deliver. */
  onChange?: () => void;
}

/** An event still to be delivered: the number of its next attempt and when that is due. */
interface Outstanding {
  eventId: string;
  attempt: number;
  /** Wall-clock milliseconds (retries wait real time, whatever the sandbox's clock says). */
  dueAt: number;
}

/** Events, attempts made and deliveries still to make, as the state file keeps them. */
export interface SavedWebhooks {
  events: SandboxEvent[];
  deliveries: (Omit<StripeWebhookDelivery, "startedAt"> & { startedAt: string })[];
  /** In the order they were queued; ISO 8601 due times. */
  outstandingDeliveries: { eventId: string; attempt: number; dueAt: string }[];
}

/** What an attempt cut off by a stop or a crash records. */
const CUT_OFF = "the sandbox stopped before the endpoint answered";

export class WebhookDispatcher {
  readonly events: SandboxEvent[] = [];
  readonly deliveries: StripeWebhookDelivery[] = [];
  private readonly held: SandboxEvent[] = [];
  private holding = false;
  private chain: Promise<void> = Promise.resolve();
  private readonly pending = new Set<Promise<void>>();
  private readonly timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private readonly aborter = new AbortController();
  private stopped = false;
  private readonly outstanding = new Set<Outstanding>();
  /** Restored deliveries waiting for resume(). */
  private restored: Outstanding[] = [];

  constructor(
    private readonly options: WebhookDispatcherOptions,
    saved?: SavedWebhooks,
  ) {
    if (!saved) return;
    this.events.push(...saved.events);
    for (const { startedAt, ...delivery } of saved.deliveries) {
      // An attempt still open in the file was cut off by a crash; its retry is among the outstanding.
      const cutOff = delivery.responseStatus === null && delivery.error === null;
      this.deliveries.push({ ...delivery, startedAt: new Date(startedAt), ...(cutOff ? { error: CUT_OFF } : {}) });
    }
    this.restored = saved.outstandingDeliveries.map((entry) => ({ ...entry, dueAt: Date.parse(entry.dueAt) }));
  }

  /** Starts the deliveries a restored account still owed: first attempts in order, retries when due. */
  resume() {
    const byId = new Map(this.events.map((event) => [event.id, event]));
    for (const entry of this.restored.splice(0)) {
      const event = byId.get(entry.eventId);
      if (!event) continue;
      this.outstanding.add(entry);
      if (entry.attempt === 1) this.queueFirstAttempt(event, entry);
      else this.retryWhenDue(event, serialise(event), entry);
    }
  }

  /** The dispatcher's part of the state file, as it is now (serialise it before anything changes). */
  snapshot(): SavedWebhooks {
    const queuedAt = new Date().toISOString();
    return {
      events: this.events,
      deliveries: this.deliveries.map((delivery) => ({ ...delivery, startedAt: delivery.startedAt.toISOString() })),
      outstandingDeliveries: [
        ...[...this.restored, ...this.outstanding].map((entry) => ({
          eventId: entry.eventId,
          attempt: entry.attempt,
          dueAt: new Date(entry.dueAt).toISOString(),
        })),
        // Held events are owed too: holding is a test's control of this process, not of the account.
        ...this.held.map((event) => ({ eventId: event.id, attempt: 1, dueAt: queuedAt })),
      ],
    };
  }

  /** Wraps an object in an event envelope, keeps it, and sends it (or holds it). */
  publish(type: SandboxEventType, object: object, previous: object | undefined, request: EventRequest): SandboxEvent {
    const event = {
      id: stripeId("evt_"),
      object: "event",
      api_version: this.options.apiVersion,
      created: Math.floor(this.options.clock().getTime() / 1000),
      data: {
        object: structuredClone(object),
        ...(previous !== undefined ? { previous_attributes: structuredClone(previous) } : {}),
      },
      livemode: false,
      pending_webhooks: 1,
      request: { ...request },
      type,
    } as SandboxEvent;
    this.events.push(event);
    if (this.holding) this.held.push(event);
    else this.enqueue(event);
    this.changed();
    return event;
  }

  /** Events from now on are kept until release(), to send them in another order. */
  hold() {
    this.holding = true;
  }

  /** Sends the held events in the order asked (ids not listed follow in the order they happened). */
  release(order: ReleaseOrder = "as-happened") {
    const held = [...this.held];
    let ordered = held;
    if (order === "reversed") ordered = held.reverse();
    else if (order !== "as-happened") {
      const byId = new Map(held.map((event) => [event.id, event]));
      const listed = order.map((id) => {
        const event = byId.get(id);
        // Checked before anything is released: a wrong id keeps every event held.
        if (!event) throw new Error(`Event ${id} is not among the held events.`);
        byId.delete(id);
        return event;
      });
      ordered = [...listed, ...byId.values()];
    }
    this.held.length = 0;
    this.holding = false;
    for (const event of ordered) this.enqueue(event);
  }

  /** Posts an event again, as the Dashboard's "Resend" does: same id and payload, new signature. */
  resend(eventId: string): SandboxEvent {
    const event = this.events.find((each) => each.id === eventId);
    if (!event) throw new Error(`No such event: '${eventId}'`);
    this.enqueue(event);
    return event;
  }

  /** Resolves once no attempt is in flight or scheduled (held events do not count). */
  async whenIdle() {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  async stop() {
    this.stopped = true;
    for (const entry of [...this.timers]) {
      clearTimeout(entry.timer);
      entry.resolve();
    }
    this.timers.clear();
    this.aborter.abort();
    await this.whenIdle();
  }

  private track(work: Promise<void>) {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  private changed() {
    this.options.onChange?.();
  }

  private enqueue(event: SandboxEvent) {
    const entry: Outstanding = { eventId: event.id, attempt: 1, dueAt: Date.now() };
    this.outstanding.add(entry);
    this.queueFirstAttempt(event, entry);
    this.changed();
  }

  private queueFirstAttempt(event: SandboxEvent, entry: Outstanding) {
    const payload = serialise(event);
    const first = this.chain.then(() => this.attempt(event, payload, entry));
    this.chain = first;
    this.track(first);
  }

  private retryWhenDue(event: SandboxEvent, payload: string, entry: Outstanding) {
    this.track(this.after(Math.max(0, entry.dueAt - Date.now())).then(() => this.attempt(event, payload, entry)));
  }

  private async attempt(event: SandboxEvent, payload: string, entry: Outstanding): Promise<void> {
    if (this.stopped) return;
    const { url, secret, retryDelaysMs, timeoutMs } = this.options;
    const attempt = entry.attempt;
    // Should this attempt never finish (a stop, a crash), the next start makes the next one at once.
    entry.attempt = attempt + 1;
    entry.dueAt = Date.now();
    // Signed at sending time: receivers check the timestamp against their own clock.
    const signature = signStripePayload(payload, secret, Math.floor(Date.now() / 1000));
    const delivery: StripeWebhookDelivery = {
      eventId: event.id,
      type: event.type,
      attempt,
      url,
      signature,
      startedAt: new Date(),
      responseStatus: null,
      error: null,
    };
    this.deliveries.push(delivery);
    this.changed();
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json; charset=utf-8",
          "Stripe-Signature": signature,
          "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
          "Cache-Control": "no-cache",
        },
        body: payload,
        redirect: "manual",
        signal: AbortSignal.any([this.aborter.signal, AbortSignal.timeout(timeoutMs)]),
      });
      await response.arrayBuffer();
      delivery.responseStatus = response.status;
      // Stripe counts only 2xx as delivered and does not follow redirects.
      if (response.status < 200 || response.status > 299)
        delivery.error = `the endpoint answered HTTP ${response.status}`;
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      delivery.error = this.stopped
        ? CUT_OFF
        : `no answer from the endpoint: ${cause?.code ?? cause?.message ?? (error as Error).message}`;
    }
    const delay = retryDelaysMs[attempt - 1];
    // An attempt cut off by a stop stays owed, due at once: the next start makes the next attempt.
    if (delivery.error === null || (delay === undefined && !this.stopped)) this.outstanding.delete(entry);
    else if (delay !== undefined && !this.stopped) {
      entry.dueAt = Date.now() + delay;
      this.retryWhenDue(event, payload, entry);
    }
    this.changed();
  }

  private after(ms: number) {
    return new Promise<void>((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.timers.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.timers.add(entry);
    });
  }
}

/** Stripe posts the payload pretty-printed: a receiver that re-serialises it breaks the signature. */
function serialise(event: SandboxEvent): string {
  return JSON.stringify(event, null, 2);
}
