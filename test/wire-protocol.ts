// A raw PostgreSQL wire-protocol client for tests: sends frontend messages byte for byte and reads
// back every backend message, so a test can assert exactly what a server answered — including
// messages a driver would hide or trip over (an extra ReadyForQuery).
import { connect, type Socket } from 'node:net';

export interface BackendMessage {
  /** The type byte as a character: 'Z' ReadyForQuery, 'E' ErrorResponse, 'D' DataRow, … */
  type: string;
  body: Buffer;
}

export type WireTarget = { path: string } | { host: string; port: number };

function frame(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}
const cstring = (text: string) => Buffer.from(`${text}\0`);
const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

/** Frontend messages (unnamed statement and portal unless named). */
export const fe = {
  parse: (sql: string, name = '') => frame('P', Buffer.concat([cstring(name), cstring(sql), int16(0)])),
  bind: (params: (string | Buffer)[], statement = '') =>
    frame(
      'B',
      Buffer.concat([
        cstring(''),
        cstring(statement),
        int16(0),
        int16(params.length),
        ...params.flatMap((p) => {
          const bytes = typeof p === 'string' ? Buffer.from(p) : p;
          return [int32(bytes.length), bytes];
        }),
        int16(0),
      ]),
    ),
  describePortal: () => frame('D', Buffer.concat([Buffer.from('P'), cstring('')])),
  execute: () => frame('E', Buffer.concat([cstring(''), int32(0)])),
  sync: () => frame('S', Buffer.alloc(0)),
  flush: () => frame('H', Buffer.alloc(0)),
  query: (sql: string) => frame('Q', cstring(sql)),
  terminate: () => frame('X', Buffer.alloc(0)),
  /** Parse, Bind, Describe, Execute, Sync: one statement the way `pg` sends it. */
  extended: (sql: string, params: (string | Buffer)[] = []) =>
    Buffer.concat([fe.parse(sql), fe.bind(params), fe.describePortal(), fe.execute(), fe.sync()]),
};

export class WireClient {
  private buffered = Buffer.alloc(0);
  private readonly received: BackendMessage[] = [];
  private wake: (() => void) | null = null;
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 5) {
        const length = this.buffered.readInt32BE(1);
        if (this.buffered.length < length + 1) break;
        this.received.push({
          type: String.fromCharCode(this.buffered[0]!),
          body: this.buffered.subarray(5, length + 1),
        });
        this.buffered = this.buffered.subarray(length + 1);
      }
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  /** Connects and completes the startup (trust authentication), returning what the server said. */
  static async connect(
    target: WireTarget,
    user: string,
    database: string,
  ): Promise<{ client: WireClient; startup: BackendMessage[] }> {
    const socket = 'path' in target ? connect(target.path) : connect(target.port, target.host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new WireClient(socket);
    const body = Buffer.concat([
      int32(196_608),
      cstring('user'),
      cstring(user),
      cstring('database'),
      cstring(database),
      Buffer.from([0]),
    ]);
    socket.write(Buffer.concat([int32(body.length + 4), body]));
    return { client, startup: await client.untilReady(1) };
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Writes `bytes` in `pieces` separate writes, `gapMs` apart (a message split across packets). */
  async writeInPieces(bytes: Buffer, pieces: number, gapMs: number): Promise<void> {
    const size = Math.ceil(bytes.length / pieces);
    for (let at = 0; at < bytes.length; at += size) {
      this.socket.write(bytes.subarray(at, at + size));
      await new Promise((r) => setTimeout(r, gapMs));
    }
  }

  /**
   * Everything received until `count` ReadyForQuery messages have arrived, plus whatever follows
   * within `settleMs` (an extra ReadyForQuery must not slip into the next exchange unseen).
   */
  async untilReady(count: number, { timeoutMs = 5_000, settleMs = 50 } = {}): Promise<BackendMessage[]> {
    const deadline = Date.now() + timeoutMs;
    const readyCount = () => this.received.filter((m) => m.type === 'Z').length;
    while (readyCount() < count && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, left);
      });
    }
    await new Promise((r) => setTimeout(r, settleMs));
    return this.received.splice(0);
  }

  /** Closes the connection without a Terminate message (a client that died). */
  destroy(): void {
    this.socket.destroy();
  }

  async end(): Promise<void> {
    if (this.closed) return;
    this.socket.end(fe.terminate());
    await new Promise<void>((resolve) =>
      this.closed ? resolve() : this.socket.once('close', () => resolve()),
    );
  }
}

/**
 * Message types with ReadyForQuery's transaction status appended ('ZI', 'ZT', 'ZE'), without
 * ParameterStatus and NoticeResponse: a server may send those at any time (PGlite reports its
 * settings again after the first query), and clients must accept them anywhere.
 */
export const shape = (messages: BackendMessage[]) =>
  messages
    .filter((m) => m.type !== 'S' && m.type !== 'N')
    .map((m) => (m.type === 'Z' ? `Z${String.fromCharCode(m.body[0]!)}` : m.type));

/** The SQLSTATE of each ErrorResponse. */
export const errorCodes = (messages: BackendMessage[]) =>
  messages.filter((m) => m.type === 'E').map((m) => field(m.body, 'C'));

/** The first column of each DataRow, as text. */
export const firstColumns = (messages: BackendMessage[]) =>
  messages
    .filter((m) => m.type === 'D')
    .map((m) => {
      const length = m.body.readInt32BE(2);
      return length < 0 ? null : m.body.subarray(6, 6 + length).toString();
    });

function field(body: Buffer, code: string): string | undefined {
  for (let at = 0; at < body.length && body[at] !== 0; ) {
    const end = body.indexOf(0, at + 1);
    if (String.fromCharCode(body[at]!) === code) return body.subarray(at + 1, end).toString();
    at = end + 1;
  }
  return undefined;
}
