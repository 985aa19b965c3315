// Where log lines go: stdout, written in batches, with a bound on what waits in memory (ADR 18).
//
// pino's default destination (sonic-boom, asynchronous, minLength 0) did one fs.write on libuv's
// thread pool per line, and when stdout is a pipe that does not drain it retried EAGAIN every
// 100 ms forever while keeping every later line in memory (the 315 MB server of issue 11). At exit
// pino flushed it with sonic-boom's flushSync, which retries *every* error — EAGAIN from a stalled
// reader, EPIPE from a gone one — every 100 ms on the main thread, for ever: the process could
// not exit, and a second SIGTERM could not run its handler.
//
// Here: lines are gathered and written with one non-blocking write() per batch (at least
// `minLength` characters, or whatever is there after `flushIntervalMs`; a warn/error/fatal line
// at once). A write that cannot proceed (EAGAIN, a partial write) is retried on a timer, never in
// a loop; at most `maxBuffered` characters wait, and lines beyond are dropped and counted (a
// notice says how many, once stdout takes lines again). EPIPE or EBADF end logging for good:
// nobody can read it. At exit (and before an uncaught exception ends the process) what waits is
// written with a deadline of `exitFlushMs`, then given up.
import { writeSync } from 'node:fs';
import { droppedLinesNotice } from './logger.ts';

export interface LogDestinationOptions {
  /** Characters gathered before a write (a batch); fewer wait at most flushIntervalMs. */
  minLength?: number;
  flushIntervalMs?: number;
  /** Characters that may wait for a stdout that does not drain; beyond it lines are dropped. */
  maxBuffered?: number;
  /** The longest the exit waits for a stdout that does not drain. */
  exitFlushMs?: number;
  /** The line that reports dropped lines, written before the next ones. */
  droppedNotice?: (dropped: number) => string;
}

const DEFAULTS = {
  minLength: 16 * 1024,
  flushIntervalMs: 100,
  maxBuffered: 4 * 1024 * 1024,
  exitFlushMs: 500,
};

// Errors after which nothing written to this descriptor can ever be read.
const GONE = new Set(['EPIPE', 'EBADF', 'EINVAL', 'ECONNRESET']);
const sleeper = new Int32Array(new SharedArrayBuffer(4));

export class LogDestination {
  private pending: string[] = [];
  private pendingLength = 0;
  /**
   * The batch being written: a string (written as is: Node encodes it without a Buffer of ours),
   * or, after a partial write, the unwritten rest of its bytes.
   */
  private head: string | Buffer | null = null;
  private timer: NodeJS.Timeout | undefined;
  /** Set after EAGAIN: wait for the timer instead of trying again on every line. */
  private stalled = false;
  private gone = false;
  private droppedSinceNotice = 0;
  private readonly options: Required<Omit<LogDestinationOptions, 'droppedNotice'>> &
    Pick<LogDestinationOptions, 'droppedNotice'>;
  /** Lines dropped because stdout did not drain or is gone, since start. */
  dropped = 0;

  constructor(
    private readonly fd: number,
    options: LogDestinationOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  write(line: string): boolean {
    if (this.gone) {
      this.dropped++;
      return false;
    }
    if (this.buffered() + line.length > this.options.maxBuffered) {
      this.dropped++;
      this.droppedSinceNotice++;
      return false;
    }
    // The first line taken after some were dropped: the notice goes where they would have been.
    if (this.droppedSinceNotice > 0) this.pending.push(this.notice());
    this.pending.push(line);
    this.pendingLength += line.length;
    // pino writes the level first: `{"level":40` and above (warn, error, fatal) go out at once.
    const urgent = line.charCodeAt(9) >= 52;
    if (!this.stalled && (urgent || this.pendingLength >= this.options.minLength)) this.flush();
    else this.timer ??= this.arm(this.options.flushIntervalMs);
    return true;
  }

  /** Writes what it can now without blocking; what is left waits for the timer. (pino's flush.) */
  flush(done?: (error?: Error) => void): void {
    this.stalled = false;
    while (!this.gone && (this.head || this.pendingLength > 0)) {
      if (!this.head) this.head = this.takeBatch();
      let written: number;
      try {
        const head = this.head;
        written = typeof head === 'string' ? writeSync(this.fd, head) : writeSync(this.fd, head);
      } catch (error) {
        this.failed(error);
        break;
      }
      const length = typeof this.head === 'string' ? Buffer.byteLength(this.head) : this.head.length;
      if (written < length) {
        this.head = (typeof this.head === 'string' ? Buffer.from(this.head) : this.head).subarray(written);
        this.stalled = true;
        break;
      }
      this.head = null;
    }
    if (this.stalled || (this.pendingLength > 0 && !this.gone))
      this.timer ??= this.arm(this.options.flushIntervalMs);
    done?.();
  }

  /**
   * Writes what waits, blocking for at most `deadlineMs` on a stdout that does not drain: for the
   * process's last moments, when no timer will run again.
   */
  flushSync(deadlineMs = this.options.exitFlushMs): void {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      this.flush();
      if (this.gone || (!this.head && this.pendingLength === 0) || Date.now() >= deadline) break;
      Atomics.wait(sleeper, 0, 0, 5);
    }
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private buffered(): number {
    return this.pendingLength + (this.head?.length ?? 0);
  }

  private notice(): string {
    const text = this.options.droppedNotice?.(this.droppedSinceNotice) ?? '';
    this.droppedSinceNotice = 0;
    this.pendingLength += text.length;
    return text;
  }

  private takeBatch(): string {
    // Lines dropped after everything that waits: say so after it.
    if (this.droppedSinceNotice > 0) this.pending.push(this.notice());
    const batch = this.pending.join('');
    this.pending = [];
    this.pendingLength = 0;
    return batch;
  }

  private failed(error: unknown): void {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (GONE.has(code)) {
      // Nobody will read what waits: let it go, and every line after it.
      this.gone = true;
      this.dropped += this.pending.length + (this.head ? 1 : 0);
      this.pending = [];
      this.pendingLength = 0;
      this.head = null;
      return;
    }
    // EAGAIN (a full pipe) and anything else that may pass (ENOSPC, EIO): try again later.
    this.stalled = true;
  }

  private arm(ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, ms);
    timer.unref();
    return timer;
  }
}

let stdout: LogDestination | undefined;

/**
 * The process's one stdout destination, flushed when the process exits and before an uncaught
 * exception ends it (Node emits no 'exit' event then).
 */
export function stdoutDestination(options: LogDestinationOptions = {}): LogDestination {
  if (stdout) return stdout;
  // Touching process.stdout makes Node open fd 1 as a stream: for a pipe or a socket that puts it
  // in non-blocking mode, so a reader that stops reading makes write() fail with EAGAIN instead
  // of blocking the event loop. (A file or a terminal stays blocking, as for console.log.)
  const fd = process.stdout.fd ?? 1;
  const destination = new LogDestination(fd, { droppedNotice: droppedLinesNotice, ...options });
  process.on('exit', () => destination.flushSync());
  // Only when nothing handles the exception (else its handler logs it and exits: 'exit' flushes).
  process.on('uncaughtExceptionMonitor', () => {
    if (process.listenerCount('uncaughtException') === 0) destination.flushSync();
  });
  stdout = destination;
  return destination;
}
