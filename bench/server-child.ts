// One server under test in a child process of its own (bench/servers/*.ts), so it never shares an
// event loop with the load generator: on 2 cores each gets one. The IPC channel carries control
// commands (CPU time, memory, profiling, bulk inserts, stop; bench/servers/control.ts).
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { cleanups } from './cleanups.ts';
import type { ChildMessage, ControlCommand } from './servers/control.ts';
import { BENCH_DIR, SERVER_NODE, SERVER_NODE_FLAGS } from './settings.ts';

export class ServerChild {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  private exited: Promise<void>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    child.on('message', (message: ChildMessage) => {
      if (message.type !== 'reply') return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.ok) waiter?.resolve(message.result);
      else waiter?.reject(new Error(`${name}: ${message.error}`));
    });
    child.once('exit', (code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`${name} exited (${code})`));
      this.pending.clear();
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** `stdout`: a file descriptor for the child's stdout (its logs), else this process's. */
  static start(name: string, script: string, env: NodeJS.ProcessEnv, stdout?: number): Promise<ServerChild> {
    const child = fork(path.join(BENCH_DIR, 'servers', script), [], {
      execPath: SERVER_NODE,
      execArgv: [...SERVER_NODE_FLAGS, '--import', 'tsx'],
      env,
      stdio: ['ignore', stdout ?? 'inherit', 'inherit', 'ipc'],
    });
    const kill = async () => void child.kill('SIGKILL');
    cleanups.push(kill);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${name} did not start within 120 s`));
      }, 120_000);
      child.on('message', (message: ChildMessage) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve(new ServerChild(name, child, message.port));
        } else if (message.type === 'failed') {
          clearTimeout(timer);
          reject(new Error(`${name} failed to start: ${message.error}`));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code}) before it was ready`));
      });
    });
  }

  call<T>(command: ControlCommand, timeoutMs = 60_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no answer to ${command.cmd} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.send({ id, command });
    });
  }

  /** Asks the child to close (server, database) and exit; kills it if it has not within 15 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    await this.call({ cmd: 'stop' }).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}
