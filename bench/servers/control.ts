// The IPC side of a benchmark server child: the load generator (bench/run.ts and its modules) asks
// it for its CPU usage and memory, to start and stop a V8 CPU profile around one measured run, and
// to stop; a server may answer commands of its own (orgplane.ts: bulk inserts over its database
// handle). Children exit when the parent goes.
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

export type ControlCommand =
  | { cmd: 'cpu' }
  | { cmd: 'memory' }
  | { cmd: 'memory-reset-peak' }
  | { cmd: 'profile-start'; intervalMicros: number }
  | { cmd: 'profile-stop'; file: string }
  | { cmd: 'stop' }
  | BulkApiKeysCommand;

/**
 * orgplane.ts only: inserts API-key rows `from`..`to` (generated names and hashes, no usable
 * secret) for the org and user given, straight into `api_keys`; answers the table's row count.
 */
export interface BulkApiKeysCommand {
  cmd: 'bulk-api-keys';
  orgId: string;
  userId: string;
  from: number;
  to: number;
}

/** Resident memory of the whole process, from /proc/self/status (bytes; null where unreadable). */
export interface MemoryReport {
  /** VmRSS: resident now. */
  rss: number | null;
  /** VmHWM: the peak resident size since start or since the last `memory-reset-peak`. */
  peakRss: number | null;
  /** Whether `memory-reset-peak` worked, so `peakRss` covers only the time since. */
  peakResettable: boolean;
  /** process.memoryUsage(): V8's heap, and memory outside it (Buffers, WebAssembly memory). */
  heapTotal: number;
  heapUsed: number;
  external: number;
}

export interface ControlRequest {
  id: number;
  command: ControlCommand;
}

export type ChildMessage =
  | { type: 'ready'; port: number }
  | { type: 'failed'; error: string }
  | { type: 'reply'; id: number; ok: true; result: unknown }
  | { type: 'reply'; id: number; ok: false; error: string };

function send(message: ChildMessage): void {
  process.send?.(message);
}

export function reportReady(port: number): void {
  send({ type: 'ready', port });
}

export function reportFailure(error: unknown): void {
  send({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
}

function statusField(status: string, name: string): number | null {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
  return match ? Number(match[1]) * 1024 : null;
}

let peakResettable = false;

function memory(): MemoryReport {
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {}
  return {
    rss: statusField(status, 'VmRSS') ?? process.memoryUsage.rss(),
    peakRss: statusField(status, 'VmHWM'),
    peakResettable,
    ...(({ heapTotal, heapUsed, external }) => ({ heapTotal, heapUsed, external }))(process.memoryUsage()),
  };
}

/** Resets VmHWM to the current RSS (Linux: writing 5 to clear_refs), so a peak covers one window. */
function resetPeak(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    peakResettable = true;
  } catch {
    peakResettable = false;
  }
}

/**
 * Answers the parent's commands; `close` runs on `stop` (and when the parent disappears), `extra`
 * answers the commands this module does not know.
 */
export function serveControl(
  close: () => Promise<void>,
  extra?: (command: ControlCommand) => Promise<unknown>,
): void {
  let session: Session | null = null;
  let closing = false;
  const shutdown = async (code: number) => {
    if (closing) return;
    closing = true;
    await close().catch(() => undefined);
    // A plain exit, not a signal: profiles and temp files are flushed first.
    process.exit(code);
  };

  const run = async (command: ControlCommand): Promise<unknown> => {
    switch (command.cmd) {
      case 'cpu':
        // Whole-process user+system time, so libuv's thread pool (argon2, WebCrypto) counts too.
        return process.cpuUsage();
      case 'memory':
        return memory();
      case 'memory-reset-peak':
        resetPeak();
        return memory();
      case 'profile-start':
        session = new Session();
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: command.intervalMicros });
        await session.post('Profiler.start');
        return null;
      case 'profile-stop': {
        if (!session) throw new Error('no profile is running');
        const { profile } = await session.post('Profiler.stop');
        session.disconnect();
        session = null;
        writeFileSync(command.file, JSON.stringify(profile));
        return command.file;
      }
      case 'stop':
        setImmediate(() => void shutdown(0));
        return null;
      default:
        if (!extra) throw new Error(`unknown command ${command.cmd}`);
        return extra(command);
    }
  };

  process.on('message', (message: ControlRequest) => {
    run(message.command).then(
      (result) => send({ type: 'reply', id: message.id, ok: true, result }),
      (error: unknown) => send({ type: 'reply', id: message.id, ok: false, error: String(error) }),
    );
  });
  process.on('disconnect', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(0));
}
