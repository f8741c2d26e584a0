// The embedded database's socket: PostgreSQL's wire protocol over TCP, so psql and other
// processes reach the PGlite that the API runs on. Each client shares the API's one session
// through the session lock, a transaction at a time (see socket-session.ts).
import { randomInt } from "node:crypto";
import { createServer, type Server } from "node:net";
import type { PGlite } from "@electric-sql/pglite";
import { type SessionLock, sessionLockOf } from "./pglite-session-lock.ts";
import { SocketSession } from "./socket-session.ts";

export interface PgliteSocketOptions {
  /** 0: any free port. */
  port: number;
  /** Loopback unless said otherwise: the socket has no authentication. */
  host?: string;
  /** How long a client may hold the session (an open transaction or a batch without Sync) before it is rolled back and disconnected. */
  transactionLimitMs?: number;
  /** A client message longer than this closes that client. */
  maxMessageBytes?: number;
  /** Connections over this are closed as soon as they are accepted. */
  maxClients?: number;
}

export interface PgliteSocketServer {
  readonly host: string;
  readonly port: number;
  /** Stops accepting, disconnects every client (rolling back what each had open), and waits for them. */
  close(): Promise<void>;
}

export const DEFAULT_TRANSACTION_LIMIT_MS = 5_000;
const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_CLIENTS = 32;

// What PostgreSQL reports to a client at startup (its GUC_REPORT settings).
const REPORTED_SETTINGS = [
  "application_name",
  "client_encoding",
  "DateStyle",
  "default_transaction_read_only",
  "in_hot_standby",
  "integer_datetimes",
  "IntervalStyle",
  "is_superuser",
  "server_encoding",
  "server_version",
  "session_authorization",
  "standard_conforming_strings",
  "TimeZone",
];

export async function servePgliteSocket(pglite: PGlite, options: PgliteSocketOptions): Promise<PgliteSocketServer> {
  const host = options.host ?? "127.0.0.1";
  const lock = sessionLockOf(pglite);
  const { serverParameters, sessionUser } = await readSession(pglite, lock);
  const sessions = new Map<number, SocketSession>();

  const server = createServer((socket) => {
    let processId = randomInt(1, 2 ** 31 - 1);
    while (sessions.has(processId)) processId = randomInt(1, 2 ** 31 - 1);
    const session = new SocketSession(socket, {
      pglite,
      lock,
      transactionLimitMs: options.transactionLimitMs ?? DEFAULT_TRANSACTION_LIMIT_MS,
      maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      serverParameters,
      sessionUser,
      processId,
      secretKey: randomInt(-(2 ** 31), 2 ** 31 - 1),
      onCancelRequest: (targetId, secretKey) => sessions.get(targetId)?.cancel(secretKey),
    });
    sessions.set(processId, session);
    void session.finished.then(() => sessions.delete(processId));
  });
  server.maxConnections = options.maxClients ?? DEFAULT_MAX_CLIENTS;
  const port = await listen(server, options.port, host);

  return {
    host,
    port,
    async close() {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...sessions.values()].map((session) => session.terminate()));
      await stopped;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      // Once listening, a failed accept (e.g. out of file descriptors) loses that client, not the API.
      server.on("error", (error) => process.emitWarning(`embedded database socket: ${error.message}`));
      resolve((server.address() as { port: number }).port);
    });
  });
}

async function readSession(pglite: PGlite, lock: SessionLock) {
  const release = await lock.acquire();
  try {
    const settings = await pglite.query<{ name: string; value: string | null }>(
      "select name, current_setting(name, true) as value from unnest($1::text[]) as name",
      [REPORTED_SETTINGS],
    );
    const user = await pglite.query<{ user: string }>("select session_user as user");
    return {
      serverParameters: settings.rows.flatMap((row) => (row.value === null ? [] : [[row.name, row.value] as const])),
      sessionUser: user.rows[0]?.user ?? "postgres",
    };
  } finally {
    release();
  }
}
