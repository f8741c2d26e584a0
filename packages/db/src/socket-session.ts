// One client of the embedded database's socket. PGlite is one Postgres session, the API's: a
// client gets it for one transaction at a time (as PgBouncer's transaction mode hands out server
// connections) and gives it back as it found it, so nothing a client sets reaches the API.
import type { Socket } from "node:net";
import type { PGlite } from "@electric-sql/pglite";
import type { ReleaseSession, SessionLock } from "./pglite-session-lock.ts";
import { preparedStatementsOf } from "./pglite-statements.ts";
import { refusalStatement, refusedWord } from "./refused-statements.ts";
import {
  BackendScanner,
  backendMessages,
  CANCEL_REQUEST_CODE,
  FrontendFramer,
  type FrontendPacket,
  GSSENC_REQUEST_CODE,
  ProtocolViolation,
  type ReadyStatus,
  SSL_REQUEST_CODE,
  startupParameters,
  toBackend,
  toClient,
} from "./wire-protocol.ts";

export interface SocketSessionSettings {
  pglite: PGlite;
  lock: SessionLock;
  transactionLimitMs: number;
  maxMessageBytes: number;
  /** The ParameterStatus values a client is told at startup. */
  serverParameters: ReadonlyArray<readonly [string, string]>;
  /** The session's own user, that every transaction of the API starts as. */
  sessionUser: string;
  processId: number;
  secretKey: number;
  /** A CancelRequest arrived on this connection for the client with that process id. */
  onCancelRequest(processId: number, secretKey: number): void;
}

// What a client may send once started. Anything else (e.g. an unknown type, which PGlite would
// loop on forever) ends that client's connection.
const FORWARDED_TYPES = new Set(["Q", "P", "B", "D", "E", "C", "H", "S", "F"]);
const EXTENDED_TYPES = new Set(["P", "B", "D", "E", "C", "H"]);
// CopyData/CopyDone/CopyFail: no COPY FROM STDIN runs here, so these are strays; PostgreSQL ignores them too.
const COPY_IN_TYPES = new Set(["d", "c", "f"]);
// Parsing this fails, which aborts whatever a client left of an extended-protocol batch.
const ABANDONED_BATCH = "<abandoned by the embedded database's socket>";
// As PostgreSQL's authentication_timeout: a connection that never starts does not keep a slot.
const STARTUP_TIMEOUT_MS = 10_000;

const frame = (type: string, body: Buffer) => {
  const header = Buffer.alloc(5);
  header.write(type, 0, "latin1");
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
};

export class SocketSession {
  readonly #socket: Socket;
  readonly #settings: SocketSessionSettings;
  readonly #framer: FrontendFramer;
  readonly #scanner = new BackendScanner();
  #started = false;
  #closed = false;
  // Every step of this client (its messages, then its cleanup) runs in order on this chain.
  #chain: Promise<void> = Promise.resolve();
  #queuedBytes = 0;
  #release: ReleaseSession | null = null;
  #waitingForSession: AbortController | null = null;
  #limitTimer: NodeJS.Timeout | null = null;
  #startupTimer: NodeJS.Timeout | null = null;
  // The backend's state as this client left it: a batch without its Sync, or a transaction.
  #batchOpen = false;
  #status: ReadyStatus = "I";
  // After a canceled wait inside an extended-protocol batch: the rest of it, up to Sync, is dropped.
  #discardUntilSync = false;
  readonly #finished: Promise<void>;
  #markFinished!: () => void;

  constructor(socket: Socket, settings: SocketSessionSettings) {
    this.#socket = socket;
    this.#settings = settings;
    this.#framer = new FrontendFramer(settings.maxMessageBytes);
    this.#finished = new Promise((resolve) => {
      this.#markFinished = resolve;
    });
    socket.setNoDelay(true);
    this.#startupTimer = setTimeout(() => {
      if (!this.#started) this.#close(toClient.error("FATAL", "08P01", "no startup message in time"));
    }, STARTUP_TIMEOUT_MS);
    socket.on("data", (chunk: Buffer) => this.#receive(chunk));
    socket.on("error", () => this.#close(null));
    socket.on("close", () => this.#close(null));
  }

  /** Resolves once the connection is closed and the session is back with the API, reset. */
  get finished(): Promise<void> {
    return this.#finished;
  }

  /** Ends the connection (server shutdown); the client's transaction, if any, is rolled back. */
  terminate(): Promise<void> {
    this.#close(toClient.error("FATAL", "57P01", "terminating connection due to administrator command"));
    return this.#finished;
  }

  /**
   * A statement cannot be interrupted (PGlite runs it on this thread), but a client still
   * waiting for the session stops waiting: its statement fails as canceled.
   */
  cancel(secretKey: number): void {
    if (secretKey === this.#settings.secretKey) this.#waitingForSession?.abort();
  }

  #receive(chunk: Buffer): void {
    if (this.#closed) return;
    try {
      this.#accept(this.#framer.push(chunk));
    } catch (error) {
      // Whatever a client sends, it ends at most its own connection, never the process.
      if (error instanceof ProtocolViolation) {
        this.#close(toClient.error("FATAL", "08P01", error.message));
        return;
      }
      process.emitWarning(`embedded database socket: ${error instanceof Error ? error.message : String(error)}`);
      this.#close(toClient.error("FATAL", "XX000", "the embedded database failed to serve this connection"));
    }
  }

  #accept(packets: FrontendPacket[]): void {
    for (const packet of packets) {
      if (this.#closed) return;
      if (packet.kind === "startup") {
        this.#startup(packet.code, packet.body);
        continue;
      }
      // Bounded memory: a client that sends faster than it is served is not read for a while.
      this.#queuedBytes += packet.body.length;
      if (this.#queuedBytes > this.#settings.maxMessageBytes) this.#socket.pause();
      this.#then(() => this.#handle(packet.type, packet.body));
    }
  }

  #startup(code: number, body: Buffer): void {
    if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) {
      this.#write(toClient.sslRefused());
      return;
    }
    if (code === CANCEL_REQUEST_CODE) {
      if (body.length >= 8) this.#settings.onCancelRequest(body.readInt32BE(0), body.readInt32BE(4));
      this.#close(null);
      return;
    }
    if (code >> 16 !== 3 || this.#started) {
      this.#close(toClient.error("FATAL", "0A000", "unsupported frontend protocol: this socket speaks 3.0"));
      return;
    }
    // The client's parameters (user, database, options, client_encoding...) are not applied:
    // settings here last one transaction, so a startup option could not keep them anyway.
    const protocolOptions = [...startupParameters(body).keys()].filter((key) => key.startsWith("_pq_."));
    const replies: Buffer[] = [];
    if ((code & 0xffff) > 0 || protocolOptions.length > 0) {
      replies.push(toClient.negotiateProtocolVersion(0, protocolOptions));
    }
    replies.push(toClient.authenticationOk());
    for (const [name, value] of this.#settings.serverParameters) replies.push(toClient.parameterStatus(name, value));
    replies.push(toClient.backendKeyData(this.#settings.processId, this.#settings.secretKey));
    replies.push(toClient.readyForQuery("I"));
    this.#write(Buffer.concat(replies));
    this.#started = true;
    if (this.#startupTimer) clearTimeout(this.#startupTimer);
  }

  async #handle(type: string, body: Buffer): Promise<void> {
    this.#queuedBytes -= body.length;
    if (this.#socket.isPaused() && this.#queuedBytes <= this.#settings.maxMessageBytes) this.#socket.resume();
    if (this.#closed) return;
    if (type === "X") return this.#close(null);
    if (COPY_IN_TYPES.has(type)) return;
    if (!FORWARDED_TYPES.has(type)) {
      return this.#close(toClient.error("FATAL", "08P01", `invalid frontend message type ${JSON.stringify(type)}`));
    }
    if (this.#discardUntilSync) {
      if (type !== "S") return;
      this.#discardUntilSync = false;
      return this.#write(toClient.readyForQuery("I"));
    }
    if (!this.#release && !(await this.#takeSession())) {
      if (!this.#closed) this.#answerCanceled(type);
      return;
    }
    const ready = await this.#forward(type, body);
    if (this.#closed) return;
    if (ready !== null) {
      this.#status = ready;
      this.#batchOpen = false;
    } else if (EXTENDED_TYPES.has(type)) {
      this.#batchOpen = true;
    }
    if (ready === "I") await this.#giveSessionBack(false);
  }

  /** Waits for the session; false when the wait was canceled or the client left meanwhile. */
  async #takeSession(): Promise<boolean> {
    const waiting = new AbortController();
    this.#waitingForSession = waiting;
    try {
      this.#release = await this.#settings.lock.acquire(waiting.signal);
    } catch {
      return false;
    } finally {
      this.#waitingForSession = null;
    }
    // The limit runs from the first message of a transaction until it ends.
    this.#limitTimer = setTimeout(() => this.#overLimit(), this.#settings.transactionLimitMs);
    return !this.#closed;
  }

  #answerCanceled(type: string): void {
    this.#write(toClient.error("ERROR", "57014", "canceling statement due to user request"));
    if (EXTENDED_TYPES.has(type)) this.#discardUntilSync = true;
    else this.#write(toClient.readyForQuery("I"));
  }

  /** Runs one client message on the backend, streaming the answer back; the ReadyForQuery status it ended with. */
  async #forward(type: string, body: Buffer): Promise<ReadyStatus | null> {
    const word = type === "Q" || type === "P" ? refusedWord(body) : null;
    let message: Buffer = frame(type, body);
    if (word !== null && type === "Q") message = toBackend.query(refusalStatement(word));
    if (word !== null && type === "P") message = toBackend.parse(statementName(body), refusalStatement(word));
    const { pglite } = this.#settings;
    await pglite.runExclusive(() =>
      pglite.execProtocolRawStream(message, {
        onRawData: (chunk) => {
          this.#scanner.scan(chunk);
          this.#write(Buffer.from(chunk));
        },
      }),
    );
    return this.#scanner.takeReadyStatus();
  }

  /** Sends raw messages to the backend on the client's behalf; the answer is not forwarded. */
  async #backend(message: Buffer): Promise<Buffer> {
    const { pglite } = this.#settings;
    const chunks: Buffer[] = [];
    // Streamed like the client's own messages: PGlite keeps the last stream callback for a
    // plain execProtocolRaw, which would hand this answer to it.
    await pglite.runExclusive(() =>
      pglite.execProtocolRawStream(message, { onRawData: (chunk) => void chunks.push(Buffer.from(chunk)) }),
    );
    const output = Buffer.concat(chunks);
    for (const { type, body } of backendMessages(output)) {
      if (type === "Z") this.#status = String.fromCharCode(body[0] ?? 0) as ReadyStatus;
    }
    return output;
  }

  /**
   * Returns the session to the API as a fresh connection would find it. `abandon`: the client
   * is gone, so whatever it left open (a batch without Sync, a transaction) is rolled back.
   */
  async #giveSessionBack(abandon: boolean): Promise<void> {
    try {
      if (abandon && this.#batchOpen) {
        await this.#backend(Buffer.concat([toBackend.parse("", ABANDONED_BATCH), toBackend.sync()]));
        this.#batchOpen = false;
      }
      if (abandon && this.#status !== "I") await this.#backend(toBackend.query("rollback"));
      // PGlite's session has no default session authorization to go back to: name its user.
      const user = `"${this.#settings.sessionUser.replaceAll('"', '""')}"`;
      await this.#backend(toBackend.query(`set session authorization ${user}`));
      // Role, every SET (request.jwt.claim(s), search_path...), prepared statements, cursors,
      // temporary tables, LISTEN, advisory locks.
      const reset = await this.#backend(toBackend.query("discard all"));
      preparedStatementsOf(this.#settings.pglite).forget();
      // Settings the client was told about changed back: tell it again.
      for (const { type, message } of backendMessages(reset)) if (type === "S") this.#write(Buffer.from(message));
      if (this.#status !== "I" || this.#settings.pglite.isInTransaction()) {
        throw new Error(`the session is not idle after the reset (status ${this.#status})`);
      }
    } finally {
      if (this.#limitTimer) clearTimeout(this.#limitTimer);
      this.#limitTimer = null;
      const release = this.#release;
      this.#release = null;
      release?.();
    }
  }

  #overLimit(): void {
    const seconds = this.#settings.transactionLimitMs / 1000;
    this.#close(
      toClient.error(
        "FATAL",
        "25P03",
        `terminating connection: its transaction held the embedded database longer than ${seconds} s (the socket's limit); it was rolled back`,
      ),
    );
  }

  /** Closes the connection (with a last message, if any) and, after any step in flight, gives the session back. */
  #close(lastMessage: Buffer | null): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#startupTimer) clearTimeout(this.#startupTimer);
    this.#waitingForSession?.abort();
    if (lastMessage && this.#socket.writable) this.#socket.end(lastMessage, () => this.#socket.destroy());
    else this.#socket.destroy();
    this.#then(async () => {
      if (this.#release) await this.#giveSessionBack(true);
      this.#markFinished();
    });
  }

  #then(step: () => Promise<void> | void): void {
    this.#chain = this.#chain.then(step).catch((error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      process.emitWarning(`embedded database socket: ${reason}`, { code: "CALLFLOW_PGLITE_SOCKET" });
      this.#close(toClient.error("FATAL", "XX000", "the embedded database failed to serve this connection"));
      // A failure in the cleanup itself still lets the process stop.
      if (!this.#release) this.#markFinished();
    });
  }

  #write(bytes: Buffer): void {
    if (!this.#closed && this.#socket.writable) this.#socket.write(bytes);
  }
}

/** The statement name at the start of a Parse message's body. */
function statementName(body: Buffer): string {
  const end = body.indexOf(0);
  return end < 0 ? "" : body.toString("utf8", 0, end);
}
