// The transactional outbox: an event is exactly as durable as the transaction that wrote it,
// and the relay sends every committed event once it can, once each, in batches.
import type { Database } from "@callflow/db";
import { migratedDatabase, type ScratchDatabase, testLanes } from "@callflow/db/testing";
import { sql } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { enqueueEvents, type OutboxEvent, startOutboxRelay } from "./outbox.ts";

const event = (n: number): OutboxEvent => ({ name: "test/event", id: `event-${n}`, data: { n } });

describe.each(testLanes())("the event outbox on %s", (lane) => {
  let scratch: ScratchDatabase;
  let database: Database;
  beforeAll(async () => {
    scratch = await migratedDatabase(lane);
    database = scratch.database;
  });
  afterAll(() => scratch?.dispose());
  beforeEach(async () => {
    await sql`delete from app.event_outbox`.execute(database.owner);
  });

  const unsent = async () =>
    (
      await sql<{ event_id: string }>`select event_id from app.event_outbox where sent_at is null order by id`.execute(
        database.owner,
      )
    ).rows.map((row) => row.event_id);

  it("keeps an event only when its transaction commits, and an id once", async () => {
    await database
      .withService(async (tx) => {
        await enqueueEvents(tx, [event(1)]);
        throw new Error("the webhook's write failed");
      })
      .catch(() => {});
    await database.withService((tx) => enqueueEvents(tx, [event(2), event(2), event(3)]));
    await database.withService((tx) => enqueueEvents(tx, [event(3)]));
    expect(await unsent()).toEqual(["event-2", "event-3"]);
  });

  it("sends every committed event in order and in batches, and marks it sent", async () => {
    await database.withService((tx) =>
      enqueueEvents(
        tx,
        Array.from({ length: 7 }, (_, n) => event(n)),
      ),
    );
    const batches: string[][] = [];
    const relay = startOutboxRelay({
      database,
      batchSize: 3,
      sweepMs: 60_000,
      send: async (events) => void batches.push(events.map((sent) => sent.id)),
    });
    await relay.drain();
    await relay.stop();
    expect(batches).toEqual([["event-0", "event-1", "event-2"], ["event-3", "event-4", "event-5"], ["event-6"]]);
    expect(await unsent()).toEqual([]);
  });

  it("costs one statement per batch: marking one sent and claiming the next are one call, with no transaction", async () => {
    await database.withService((tx) =>
      enqueueEvents(
        tx,
        Array.from({ length: 7 }, (_, n) => event(n)),
      ),
    );
    const used = { statements: 0, transactions: 0 };
    const counting: Database = {
      ...database,
      callServiceFunction(name, args) {
        used.statements++;
        return database.callServiceFunction(name, args);
      },
      withService(fn) {
        used.transactions++;
        return database.withService(fn);
      },
    };
    const relay = startOutboxRelay({ database: counting, batchSize: 3, sweepMs: 60_000, send: async () => {} });
    await relay.drain();
    await relay.stop();
    // Three batches, then one call that marks the last sent and finds nothing more (and one
    // more pass when drain's wake came while the first ran).
    expect(used.transactions).toBe(0);
    expect([4, 5]).toContain(used.statements);
    expect(await unsent()).toEqual([]);
  });

  it("keeps what Inngest did not take, with the reason, and sends it on the next wake", async () => {
    await database.withService((tx) => enqueueEvents(tx, [event(1)]));
    let down = true;
    const sent: OutboxEvent[] = [];
    const relay = startOutboxRelay({
      database,
      sweepMs: 60_000,
      onError: () => {},
      send: async (events) => {
        if (down) throw new Error("Inngest unreachable");
        sent.push(...events);
      },
    });
    await relay.drain();
    const { rows } = await sql<{ attempts: number; last_error: string }>`
      select attempts, last_error from app.event_outbox`.execute(database.owner);
    expect(rows).toEqual([{ attempts: 1, last_error: "Inngest unreachable" }]);
    down = false;
    await relay.drain();
    await relay.stop();
    expect(sent).toEqual([event(1)]);
    expect(await unsent()).toEqual([]);
  });

  it("takes over the events a relay took and never sent (its process died), after the claim expires", async () => {
    await database.withService((tx) => enqueueEvents(tx, [event(1), event(2)]));
    await sql`update app.event_outbox set claimed_until = now() + interval '1 hour' where event_id = 'event-1'`.execute(
      database.owner,
    );
    await sql`update app.event_outbox set claimed_until = now() - interval '1 second' where event_id = 'event-2'`.execute(
      database.owner,
    );
    const sent: string[] = [];
    const relay = startOutboxRelay({
      database,
      sweepMs: 60_000,
      send: async (events) => void sent.push(...events.map((e) => e.id)),
    });
    await relay.drain();
    await relay.stop();
    expect(sent).toEqual(["event-2"]);
    expect(await unsent()).toEqual(["event-1"]);
  });

  it("sends each event once when two relays (two API processes) run at the same time", async () => {
    await database.withService((tx) =>
      enqueueEvents(
        tx,
        Array.from({ length: 60 }, (_, n) => event(n)),
      ),
    );
    const sent: string[] = [];
    const send = async (events: OutboxEvent[]) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      sent.push(...events.map((e) => e.id));
    };
    const relays = [1, 2].map(() => startOutboxRelay({ database, batchSize: 7, sweepMs: 60_000, send }));
    await Promise.all(relays.map((relay) => relay.drain()));
    await Promise.all(relays.map((relay) => relay.stop()));
    expect(sent.toSorted()).toEqual(Array.from({ length: 60 }, (_, n) => `event-${n}`).toSorted());
  });
});
