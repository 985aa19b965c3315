// Hears what the database's change triggers announce (migration 0004) and hands each tag to the
// subscribers — the credential caches of this node. On PostgreSQL a dedicated connection LISTENs,
// so any number of nodes on one database hear each other's revocations within milliseconds. The
// embedded database is one session: in memory it delivers its notifications in process; in its own
// process (a data directory, ADR 14) they arrive on the server's one connection to it.
//
// While the listening connection is down the feed is "deaf": subscribers are told (`onDeaf`) and
// must stop trusting their caches until `onHearing`, which follows a reconnect.
import pg from 'pg';

export const CHANGES_CHANNEL = 'orgplane_changes';
const HEARTBEAT_MS = 2_000;
// Long enough for the slowest legitimate query ahead of the heartbeat on the embedded database's
// one connection (a migration, a bulk import), short enough to notice a wedged process.
const SESSION_DEADLINE_MS = 15_000;

export interface ChangeListener {
  onChange(tag: string): void;
  /** The feed lost (false) or regained (true) its connection; caches flush and pause while deaf. */
  onHearing(hearing: boolean): void;
}

export interface ChangeFeed {
  subscribe(listener: ChangeListener): void;
  readonly hearing: boolean;
  close(): Promise<void>;
}

/** Base class: fan-out and hearing state; the transports below only report what they hear. */
abstract class Feed implements ChangeFeed {
  private listeners: ChangeListener[] = [];
  hearing = false;

  subscribe(listener: ChangeListener): void {
    this.listeners.push(listener);
    listener.onHearing(this.hearing);
  }

  protected heard(payload: string): void {
    for (const listener of this.listeners) listener.onChange(payload);
  }

  protected setHearing(hearing: boolean): void {
    if (this.hearing === hearing) return;
    this.hearing = hearing;
    for (const listener of this.listeners) listener.onHearing(hearing);
  }

  abstract close(): Promise<void>;
}

/** PGlite: `listen(channel, callback)` resolves to an unsubscribe function. */
export interface InProcessListenable {
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
}

export class InProcessChangeFeed extends Feed {
  private unlisten: (() => Promise<void>) | null = null;

  static async start(client: InProcessListenable): Promise<InProcessChangeFeed> {
    const feed = new InProcessChangeFeed();
    feed.unlisten = await client.listen(CHANGES_CHANNEL, (payload) => feed.heard(payload));
    feed.setHearing(true);
    return feed;
  }

  async close(): Promise<void> {
    this.setHearing(false);
    await this.unlisten?.();
  }
}

/**
 * The embedded database in its own process (db/embedded-process.ts), reached over a pool of one
 * connection: PGlite is a single session, and through its socket it hands the notifications a
 * commit raises to that connection's protocol stream, ahead of the commit's answer (its in-process
 * listeners hear nothing in that mode). So every connection the pool opens LISTENs before the pool
 * hands it out (`listenOn` is the pool's onConnect hook), and the feed hears what arrives on it.
 * Without an open connection the feed is deaf; the next connection makes it hear again.
 */
export class SessionChangeFeed extends Feed {
  private listening: pg.ClientBase | null = null;
  private closed = true;
  private onError: ((error: unknown) => void) | undefined;
  private heartbeat: NodeJS.Timeout | null = null;
  private beating = false;

  constructor(
    private readonly timing: { heartbeatMs: number; deadlineMs: number } = {
      heartbeatMs: HEARTBEAT_MS,
      deadlineMs: SESSION_DEADLINE_MS,
    },
  ) {
    super();
  }

  /** The pool's onConnect hook (pg-pool awaits it, so the LISTEN runs before any other query). */
  readonly listenOn = async (client: pg.ClientBase): Promise<void> => {
    client.on('notification', (message) => {
      if (this.closed || this.listening !== client) return;
      if (message.channel === CHANGES_CHANNEL && message.payload) this.heard(message.payload);
    });
    const lost = (error: unknown) => {
      if (this.listening !== client) return;
      this.listening = null;
      this.setHearing(false);
      if (!this.closed) this.onError?.(error);
    };
    client.on('error', lost);
    client.on('end', () => lost(new Error('the connection to the embedded database ended')));
    await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    this.listening = client;
    this.setHearing(!this.closed);
  };

  /**
   * Starts delivering; `roundTrip` (a query on the pool) makes sure a listening connection is open,
   * and is repeated as a heartbeat: a database process that is alive but wedged raises no error,
   * so a round trip that does not come back within the deadline makes the feed deaf (the caches
   * stop trusting what they hold) until one does.
   */
  async start(onError: (error: unknown) => void, roundTrip: () => Promise<unknown>): Promise<this> {
    this.onError = onError;
    this.closed = false;
    await roundTrip();
    this.setHearing(this.listening !== null);
    this.heartbeat = setInterval(() => void this.beat(roundTrip), this.timing.heartbeatMs);
    this.heartbeat.unref();
    return this;
  }

  private async beat(roundTrip: () => Promise<unknown>): Promise<void> {
    if (this.beating) return; // the last one has not come back: already deaf, or about to be
    this.beating = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        roundTrip(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(`the embedded database did not answer within ${this.timing.deadlineMs / 1000} s`),
              ),
            this.timing.deadlineMs,
          );
        }),
      ]);
      if (!this.closed) this.setHearing(this.listening !== null);
    } catch (error) {
      if (!this.closed) {
        this.setHearing(false);
        this.onError?.(error);
      }
    } finally {
      clearTimeout(timer);
      this.beating = false;
    }
  }

  stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  async close(): Promise<void> {
    this.stopHeartbeat();
    this.closed = true;
    this.setHearing(false);
  }
}

export interface PostgresFeedOptions {
  connectionString: string;
  schema?: string;
  /** Reports connection trouble (the feed keeps retrying). */
  onError?(error: unknown): void;
  /** First retry delay; doubles up to 5 s. */
  retryMs?: number;
}

export class PostgresChangeFeed extends Feed {
  private client: pg.Client | null = null;
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs: number;

  private constructor(private readonly options: PostgresFeedOptions) {
    super();
    this.retryMs = options.retryMs ?? 250;
  }

  /** Connects once before returning (a node that cannot listen at start-up fails loudly). */
  static async start(options: PostgresFeedOptions): Promise<PostgresChangeFeed> {
    const feed = new PostgresChangeFeed(options);
    await feed.connect();
    return feed;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      keepAlive: true,
      ...(this.options.schema ? { options: `-c search_path=${this.options.schema}` } : {}),
    });
    client.on('notification', (message) => {
      if (message.channel === CHANGES_CHANNEL && message.payload) this.heard(message.payload);
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('change-feed connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closed) {
      await client.end();
      return;
    }
    this.client = client;
    this.retryMs = this.options.retryMs ?? 250;
    this.setHearing(true);
    this.startHeartbeat(client);
  }

  /**
   * A connection can die silently (a NAT or firewall timeout, a partition): no error, no 'end', and
   * notifications simply stop. A round trip every HEARTBEAT_MS that must answer within the same time
   * turns that into a loss we act on (caches paused, reconnect) within seconds.
   */
  private startHeartbeat(client: pg.Client): void {
    const timer = setInterval(() => {
      if (this.client !== client) {
        clearInterval(timer);
        return;
      }
      const timeout = new Promise<never>((_, reject) => {
        setTimeout(() => reject(new Error('change-feed heartbeat timed out')), HEARTBEAT_MS).unref();
      });
      Promise.race([client.query('SELECT 1'), timeout]).catch((error) => {
        clearInterval(timer);
        this.lost(client, error);
      });
    }, HEARTBEAT_MS);
    timer.unref();
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.client !== client) return;
    this.client = null;
    this.setHearing(false);
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.options.onError?.(error);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect().catch((error) => {
        this.options.onError?.(error);
        this.retryMs = Math.min(this.retryMs * 2, 5_000);
        this.scheduleReconnect();
      });
    }, this.retryMs);
    this.retryTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    this.setHearing(false);
    await client?.end().catch(() => undefined);
  }
}
