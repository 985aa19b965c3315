// The IPC side of a benchmark server child: bench/run.ts asks it for its CPU usage, to start and
// stop a V8 CPU profile around one measured run, and to stop. Children exit when the parent goes.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

export type ControlCommand =
  | { cmd: 'cpu' }
  | { cmd: 'profile-start'; intervalMicros: number }
  | { cmd: 'profile-stop'; file: string }
  | { cmd: 'stop' };

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

/** Answers the parent's commands; `close` runs on `stop` (and when the parent disappears). */
export function serveControl(close: () => Promise<void>): void {
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
