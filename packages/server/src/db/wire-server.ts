// Serves one PGlite session over the PostgreSQL wire protocol on a unix socket (ADR 19), so the
// server reaches the embedded database through `pg` exactly as it reaches PostgreSQL.
//
// Replaces @electric-sql/pglite-socket, which desynchronised the protocol (ADR 19): it handed PGlite
// one frontend message at a time, and PGlite ends every call that raised an error with
// ReadyForQuery. PostgreSQL, after an error in an extended-query message (Parse, Bind, Describe,
// Execute, Close), sends no ReadyForQuery until the client's Sync. The extra one reached `pg` as the
// answer to the *next* query on the connection — an INSERT … RETURNING "completed" with no row, the
// real rows arrived for the query after it, or `pg` gave up on the connection (EPIPE, ECONNRESET).
// Any request whose input PostgreSQL refuses (a \u0000, a value too long) could do it.
//
// Here:
//  - Frontend messages are framed exactly (startup, then typed messages with their length) and run
//    strictly in order on one queue: a segment of messages up to and including the next Sync,
//    Query, FunctionCall or Flush goes to PGlite in one call (which is also cheaper than one call
//    per message).
//  - ReadyForQuery is passed on only where PostgreSQL sends one — at the end of the answer to a
//    Sync, a Query, a FunctionCall, a COPY's end or the startup — and dropped everywhere else.
//  - One client at a time (PGlite is one session). Another one waits until the current one has
//    gone (a pool replacing a broken connection may connect before the old one's close is seen
//    here), or is refused with PostgreSQL's "too many clients" error after a while. When a client
//    leaves, its session is reset as a new backend would be:
//    a pending error state is closed with a Sync, an open transaction rolled back, and DISCARD ALL
//    drops its prepared statements, settings, LISTENs and advisory locks.
//  - A failure inside PGlite itself (not an SQL error: a WebAssembly trap) ends the connection with
//    a FATAL error and is reported through `onFatal`: nothing after it can be trusted.
import { chmodSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

const PROTOCOL_3 = 196_608;
const SSL_REQUEST = 80_877_103;
const GSSENC_REQUEST = 80_877_104;
// PostgreSQL refuses longer messages (PQ_LARGE_MESSAGE_LIMIT); a bad length must not make us wait
// for a gigabyte that never comes.
const MAX_MESSAGE_LENGTH = 0x3fff_ffff;

const READY_FOR_QUERY = 0x5a; // 'Z'
/**
 * Frontend messages PostgreSQL may answer with ReadyForQuery: Sync, Query, FunctionCall, and
 * CopyDone/CopyFail (which end a COPY started by a Query).
 */
const ENDS_WITH_READY = new Set([0x53, 0x51, 0x46, 0x63, 0x66]); // 'S' 'Q' 'F' 'c' 'f'
const FLUSH = 0x48; // 'H'
const TERMINATE = 0x58; // 'X'

/** A frontend message, or the startup packet (type 0: it has no type byte). */
interface Message {
  type: number;
  bytes: Buffer;
}

export interface WireServerOptions {
  db: PGlite;
  /** The socket's path; the file is made owner-only (0600). */
  path: string;
  /** PGlite failed (not an SQL error): the database cannot be trusted any more. */
  onFatal(error: unknown): void;
  /** How long a second client waits for the first to leave before it is refused (default 10 s). */
  clientWaitMs?: number;
}

export class PgliteWireServer {
  private server: Server | null = null;
  private client: Socket | null = null;
  private readonly waiting: Socket[] = [];
  private readonly sockets = new Set<Socket>();
  /** Every use of the database, in order: one session, one thing at a time. */
  private queue: Promise<void> = Promise.resolve();
  private failed = false;
  private stopped = false;

  constructor(private readonly options: WireServerOptions) {}

  /** Listens on the socket path; rejects if it cannot (EADDRINUSE, EACCES). */
  async start(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(this.options.path, 0o600);
  }

  /** Stops listening, drops every client, and waits until the database is no longer in use. */
  async stop(): Promise<void> {
    // A client's close queues the reset of its session: wait for the closes, then for the queue,
    // so nothing touches the database after this returns (the caller may close it next).
    const closed = [...this.sockets].map((socket) => new Promise((resolve) => socket.once('close', resolve)));
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(closed);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
    await this.queue;
    this.stopped = true;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    // A client that vanishes while it waits (or while it is refused) must not crash this process.
    socket.on('error', () => undefined);
    if (this.failed) {
      refuse(socket, 'XX000', 'the embedded database failed; it is being restarted');
      return;
    }
    if (!this.client) {
      this.attach(socket);
      return;
    }
    socket.pause(); // its messages stay in the kernel's buffer until it is served
    this.waiting.push(socket);
    const timer = setTimeout(() => {
      const at = this.waiting.indexOf(socket);
      if (at < 0) return;
      this.waiting.splice(at, 1);
      refuse(
        socket,
        '53300',
        'sorry, too many clients already: the embedded database serves one connection at a time',
      );
    }, this.options.clientWaitMs ?? 10_000);
    socket.once('close', () => {
      clearTimeout(timer);
      const at = this.waiting.indexOf(socket);
      if (at >= 0) this.waiting.splice(at, 1);
    });
  }

  private attach(socket: Socket): void {
    this.client = socket;
    socket.setNoDelay(true);
    let buffered: Buffer = Buffer.alloc(0);
    let started = false;
    let open = true;
    /** The client has gone (or is sent away): its queued work is skipped, its session reset. */
    const end = (refusal?: [code: string, message: string]) => {
      if (!open) return;
      open = false;
      if (refusal) refuse(socket, ...refusal);
      else socket.destroy();
      // Queued behind this client's last work and ahead of the next client's startup, so the next
      // client finds a fresh session.
      this.enqueue(() => this.resetSession());
      if (this.client !== socket) return;
      this.client = null;
      const next = this.waiting.shift();
      if (next) {
        this.attach(next);
        next.resume();
      }
    };
    socket.on('error', () => end());
    socket.on('close', () => end());
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      let segment: Message[] = [];
      for (;;) {
        const framed = started ? typedMessage(buffered) : startupPacket(buffered);
        if (framed === 'incomplete') break;
        if (framed === 'invalid') return end(['08P01', 'invalid frontend message length']);
        buffered = buffered.subarray(framed.bytes.length);
        if (!started) {
          const code = framed.bytes.readInt32BE(4);
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
            socket.write('N'); // no TLS on a private unix socket; the client goes on in plain text
            continue;
          }
          if (code !== PROTOCOL_3) return end(); // a cancel request, or a protocol we do not speak
          started = true;
          this.enqueue(() => this.run(socket, [framed], true));
          continue;
        }
        if (framed.type === TERMINATE) return end();
        segment.push(framed);
        if (ENDS_WITH_READY.has(framed.type) || framed.type === FLUSH) {
          this.enqueue(this.runner(socket, segment, ENDS_WITH_READY.has(framed.type)));
          segment = [];
        }
      }
      // Complete messages before a message still arriving run now, as PostgreSQL would run them.
      if (segment.length) this.enqueue(this.runner(socket, segment, false));
    });
  }

  private runner(socket: Socket, segment: Message[], endsWithReady: boolean) {
    return () => this.run(socket, segment, endsWithReady);
  }

  private enqueue(work: () => Promise<void>): void {
    if (this.stopped) return;
    this.queue = this.queue.then(work).catch((error) => this.fail(error));
  }

  /** Runs messages in one PGlite call and answers with what PostgreSQL would have sent. */
  private async run(socket: Socket, segment: Message[], endsWithReady: boolean): Promise<void> {
    if (!socket.writable || this.failed) return;
    const input = segment.length === 1 ? segment[0]!.bytes : Buffer.concat(segment.map((m) => m.bytes));
    const output = onlyExpectedReadyForQuery(await this.exec(input), endsWithReady);
    if (output.length && socket.writable && !socket.write(output)) await drained(socket);
  }

  private async exec(input: Uint8Array): Promise<Buffer> {
    const chunks: Buffer[] = [];
    // Copied at once: PGlite reuses the memory it hands out.
    await this.options.db.execProtocolRawStream(input, {
      onRawData: (data) => void chunks.push(Buffer.from(data)),
    });
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }

  /** What a new PostgreSQL backend would not inherit from the client that left. */
  private async resetSession(): Promise<void> {
    if (this.failed) return;
    await this.exec(SYNC); // ends an extended-query error state ("ignore till Sync")
    if (this.options.db.isInTransaction()) await this.exec(simpleQuery('ROLLBACK'));
    await this.exec(simpleQuery('DISCARD ALL'));
  }

  private fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    for (const socket of this.sockets)
      refuse(socket, 'XX000', 'the embedded database failed; it is being restarted');
    this.options.onFatal(error);
  }
}

/** The startup-phase packet at the start of `buffer`: length, then a protocol or request code. */
function startupPacket(buffer: Buffer): Message | 'incomplete' | 'invalid' {
  if (buffer.length < 8) return 'incomplete';
  const length = buffer.readInt32BE(0);
  if (length < 8 || length > 10_000) return 'invalid'; // PostgreSQL's own startup packet limit
  if (buffer.length < length) return 'incomplete';
  return { type: 0, bytes: buffer.subarray(0, length) };
}

/** The typed message at the start of `buffer`: a type byte, then a length that counts itself. */
function typedMessage(buffer: Buffer): Message | 'incomplete' | 'invalid' {
  if (buffer.length < 5) return 'incomplete';
  const length = buffer.readInt32BE(1);
  if (length < 4 || length > MAX_MESSAGE_LENGTH) return 'invalid';
  if (buffer.length < length + 1) return 'incomplete';
  return { type: buffer[0]!, bytes: buffer.subarray(0, length + 1) };
}

/**
 * Drops every ReadyForQuery PostgreSQL would not have sent: all of them in the answer to messages
 * that do not end with one, all but the last otherwise.
 */
export function onlyExpectedReadyForQuery(output: Buffer, endsWithReady: boolean): Buffer {
  const ready: number[] = [];
  for (let at = 0; at + 5 <= output.length; ) {
    const length = output.readInt32BE(at + 1);
    if (length < 4)
      throw new Error(
        `PGlite answered a message of impossible length ${length} (type ${output[at]}, at ${at} of ${output.length}): ${output.subarray(Math.max(0, at - 20), at + 20).toString('hex')}`,
      );
    if (output[at] === READY_FOR_QUERY) ready.push(at);
    at += 1 + length;
  }
  const dropped = endsWithReady ? ready.slice(0, -1) : ready;
  if (!dropped.length) return output;
  const parts: Buffer[] = [];
  let from = 0;
  for (const at of dropped) {
    parts.push(output.subarray(from, at));
    from = at + 6; // ReadyForQuery is always 6 bytes: type, length 5, status
  }
  parts.push(output.subarray(from));
  return Buffer.concat(parts);
}

const SYNC = Buffer.from([0x53, 0, 0, 0, 4]);

function simpleQuery(sql: string): Buffer {
  const text = Buffer.from(`${sql}\0`);
  const header = Buffer.alloc(5);
  header[0] = 0x51;
  header.writeInt32BE(4 + text.length, 1);
  return Buffer.concat([header, text]);
}

/** Sends a FATAL error and closes the connection once it is written. */
function refuse(socket: Socket, code: string, message: string): void {
  socket.end(errorResponse('FATAL', code, message), () => socket.destroy());
}

/** An ErrorResponse message, as PostgreSQL frames it. */
function errorResponse(severity: 'FATAL', code: string, message: string): Buffer {
  const fields = Buffer.from(`S${severity}\0V${severity}\0C${code}\0M${message}\0\0`);
  const header = Buffer.alloc(5);
  header[0] = 0x45;
  header.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([header, fields]);
}

function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}
