// The servers measured, each in its own child process: bare node:http (the baseline every ratio
// divides by) and Orgplane on embedded PGlite or on PostgreSQL in a fresh schema, started once per
// logging mode with the environment production would give it.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { cleanups } from './cleanups.ts';
import { type LoggingMode, logFileStats, modeEnv, modeLabel, openLogFile } from './logging.ts';
import { type Measurement, measure } from './measure.ts';
import { prepareOrgplane } from './paths.ts';
import { ServerChild } from './server-child.ts';

export function orgplaneEnv(dataDir: string, overrides: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    ORGPLANE_DATA_DIR: dataDir,
    ORGPLANE_PUBLIC_URL: 'http://orgplane.bench',
    ORGPLANE_ALLOW_SIGNUP: 'true',
    ORGPLANE_PLATFORM_ADMIN_EMAILS: '',
    ORGPLANE_TRUST_PROXY: 'false',
    // Every login in the run comes from one account and one IP: lift the throttles for the bench.
    ORGPLANE_LOGIN_ACCOUNT_LIMIT_MAX: '1000000',
    ORGPLANE_LOGIN_IP_LIMIT_MAX: '1000000',
    DATABASE_URL: '',
    ORGPLANE_MASTER_KEY: '',
    BENCH_SCHEMA: '',
    ...overrides,
  };
}

export interface LogVolume {
  backend: string;
  bytes: number;
  lines: number;
}

/** What the default-logging servers wrote to their stdout file, per backend. */
export const logVolumes: LogVolume[] = [];

export async function benchOrgplane(
  database: string,
  overrides: Record<string, string>,
  mode: LoggingMode,
): Promise<Measurement[]> {
  const backend = `${database} · ${modeLabel(mode)}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'orgplane-bench-'));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  process.stderr.write(`${backend}: starting…\n`);
  // Default logging goes to a file (outside the data directory), as a service manager's would.
  const logFile = path.join(dataDir, '..', `${path.basename(dataDir)}.log`);
  const logFd = mode === 'default' ? openLogFile(logFile) : undefined;
  const env = orgplaneEnv(dataDir, { ...overrides, ...modeEnv(mode) });
  const server = await ServerChild.start(backend, 'orgplane.ts', env, logFd);
  try {
    const targets = await prepareOrgplane(server, mode);
    const results: Measurement[] = [];
    for (const target of targets) results.push({ ...(await measure(backend, server, target)), mode });
    return results;
  } finally {
    await server.stop();
    if (logFd !== undefined) {
      logVolumes.push({ backend, ...logFileStats(logFile, logFd) });
      rmSync(logFile, { force: true });
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchBare(label: string): Promise<Measurement> {
  const server = await ServerChild.start('bare node:http', 'bare.ts', { ...process.env });
  try {
    return await measure(label, server, {
      key: 'bare',
      label: 'GET / (JSON hello world)',
      method: 'GET',
      path: '/',
      reportLatency: true,
      check: (status) => (status === 200 ? null : 'expected 200'),
    });
  } finally {
    await server.stop();
  }
}

export async function withPostgresSchema<T>(url: string, work: (schema: string) => Promise<T>): Promise<T> {
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE SCHEMA ${schema}`);
  const drop = () => admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  cleanups.push(drop);
  try {
    return await work(schema);
  } finally {
    await drop();
    cleanups.splice(cleanups.indexOf(drop), 1);
  }
}
