// The real entry point as a newcomer runs it: a child process of packages/server/src/main.ts.
// Data survives a restart, SIGTERM lets in-flight requests finish, bad config fails clearly, and
// two nodes starting together on one PostgreSQL both come up on one schema.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { onPostgres, PASSWORD } from './harness.ts';

const MAIN = path.resolve(import.meta.dirname, '../packages/server/src/main.ts');
const CLI = path.resolve(import.meta.dirname, '../packages/server/src/cli.ts');
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

interface Node {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

async function startNode(env: Record<string, string>): Promise<Node> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) return { child, url, output: () => output, exited };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not become ready:\n${output}`);
}

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('the server process', () => {
  it('keeps its data and master key across a restart, and shuts down gracefully on SIGTERM', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'orgplane-proc-'));
    dirs.push(dataDir);
    const env = { ORGPLANE_DATA_DIR: dataDir, DATABASE_URL: '', ORGPLANE_MASTER_KEY: '' };
    const first = await startNode(env);
    const keyFile = path.join(dataDir, 'master.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile, 'utf8');
    expect(Buffer.from(key.trim(), 'base64')).toHaveLength(32);

    const signup = await post(`${first.url}/api/v1/auth/signup`, {
      email: 'persist@example.com',
      password: PASSWORD,
    });
    expect(signup.status).toBe(201);
    // A request in flight when SIGTERM arrives still gets its answer; then the process exits 0.
    const inFlight = post(`${first.url}/api/v1/auth/login`, {
      email: 'persist@example.com',
      password: PASSWORD,
    });
    await new Promise((r) => setTimeout(r, 5));
    first.child.kill('SIGTERM');
    const answered = await inFlight;
    expect(answered.status).toBe(200);
    // …and ends its keep-alive connection, so shutdown does not wait on the client's socket.
    expect(answered.headers.get('connection')).toBe('close');
    expect(await first.exited, first.output().slice(-1500)).toBe(0);
    expect(first.output()).toContain('shutting down');

    const second = await startNode(env);
    expect(readFileSync(keyFile, 'utf8')).toBe(key);
    const login = await post(`${second.url}/api/v1/auth/login`, {
      email: 'persist@example.com',
      password: PASSWORD,
    });
    expect(login.status).toBe(200);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    // Logs are JSON lines.
    const lines = second.output().trim().split('\n');
    expect(lines.every((line) => line.startsWith('{'))).toBe(true);
  });

  it("`npm start` serves from the repository root, so ./.orgplane is the root's", async () => {
    const root = path.resolve(import.meta.dirname, '..');
    const relative = `.orgplane-test-${randomBytes(4).toString('hex')}`;
    dirs.push(path.join(root, relative));
    const port = await freePort();
    // Its own process group, so the test can stop npm and the server it started together.
    const child = spawn('npm', ['start'], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        ORGPLANE_DATA_DIR: relative,
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
      detached: true,
    });
    try {
      const deadline = Date.now() + 30_000;
      let ready = false;
      while (!ready && Date.now() < deadline) {
        ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
        if (!ready) await new Promise((r) => setTimeout(r, 200));
      }
      expect(ready).toBe(true);
      expect(statSync(path.join(root, relative, 'master.key')).isFile()).toBe(true);
    } finally {
      if (child.pid) process.kill(-child.pid, 'SIGTERM');
    }
  });

  it('creates a platform administrator with the server CLI, who can then suspend any org', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'orgplane-cli-'));
    dirs.push(dataDir);
    const env = {
      ORGPLANE_DATA_DIR: dataDir,
      DATABASE_URL: '',
      ORGPLANE_MASTER_KEY: '',
      ORGPLANE_PLATFORM_ADMIN_EMAILS: 'ops@example.com',
    };
    const cli = spawn(
      process.execPath,
      ['--import', 'tsx', CLI, 'create-user', '--email', 'ops@example.com', '--name', 'Ops'],
      {
        env: { ...process.env, ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let output = '';
    cli.stdout?.on('data', (chunk) => (output += chunk));
    cli.stderr?.on('data', (chunk) => (output += chunk));
    cli.stdin?.end(`${PASSWORD}\n`);
    expect(await new Promise((resolve) => cli.on('exit', resolve)), output).toBe(0);
    expect(output).toContain('a platform administrator');

    const node = await startNode(env);
    // While the server holds the embedded database, the CLI refuses rather than corrupt it.
    const second = spawn(process.execPath, ['--import', 'tsx', CLI, 'rotate-signing-key'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let refused = '';
    second.stderr?.on('data', (chunk) => (refused += chunk));
    expect(await new Promise((resolve) => second.on('exit', resolve))).not.toBe(0);
    expect(refused).toContain('in use by another Orgplane process');
    const reserved = await post(`${node.url}/api/v1/auth/signup`, {
      email: 'OPS@example.com',
      password: PASSWORD,
    });
    expect(reserved.status).toBe(403);
    const victim = await post(`${node.url}/api/v1/auth/signup`, {
      email: 'victim@example.com',
      password: PASSWORD,
    });
    const { organization } = (await victim.json()) as { organization: { id: string } };
    const login = await post(`${node.url}/api/v1/auth/login`, {
      email: 'ops@example.com',
      password: PASSWORD,
    });
    const { access_token } = (await login.json()) as { access_token: string };
    const suspend = await fetch(`${node.url}/api/v1/orgs/${organization.id}/suspend`, {
      method: 'POST',
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(suspend.status).toBe(200);
    node.child.kill('SIGTERM');
    await node.exited;
  });

  it('refuses to start with a clear message when the configuration is wrong', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: { ...process.env, DATABASE_URL: 'postgres://127.0.0.1/none', ORGPLANE_MASTER_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(78);
    expect(stderr).toContain('ORGPLANE_MASTER_KEY is required when DATABASE_URL is set');
  });

  it.runIf(onPostgres)(
    'two nodes starting at once on one PostgreSQL both serve, with one schema and one signing key',
    async () => {
      const base = process.env.TEST_DATABASE_URL as string;
      const schema = `proc_${randomBytes(5).toString('hex')}`;
      const admin = new pg.Client({ connectionString: base });
      await admin.connect();
      await admin.query(`CREATE SCHEMA ${schema}`);
      try {
        const url = `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
        // Nodes behind one load balancer share the master key and the public URL (the token issuer).
        const env = {
          DATABASE_URL: url,
          ORGPLANE_MASTER_KEY: randomBytes(32).toString('base64'),
          ORGPLANE_PUBLIC_URL: 'https://orgplane.example.com',
        };
        const [a, b] = await Promise.all([startNode(env), startNode(env)]);
        const signup = await post(`${a.url}/api/v1/auth/signup`, {
          email: 'two@example.com',
          password: PASSWORD,
        });
        expect(signup.status).toBe(201);
        const login = await post(`${b.url}/api/v1/auth/login`, {
          email: 'two@example.com',
          password: PASSWORD,
        });
        expect(login.status).toBe(200);
        const { access_token } = (await login.json()) as { access_token: string };
        // A token signed by one node verifies on the other.
        const whoami = await fetch(`${a.url}/api/v1/auth/whoami`, {
          headers: { authorization: `Bearer ${access_token}` },
        });
        expect(whoami.status).toBe(200);
        const migrations = await admin.query(`SELECT name FROM ${schema}.schema_migrations`);
        expect(new Set(migrations.rows.map((r) => r.name)).size).toBe(migrations.rowCount);
        const keys = await admin.query(`SELECT kid FROM ${schema}.signing_keys WHERE status = 'active'`);
        expect(keys.rowCount).toBe(1);
        a.child.kill('SIGTERM');
        b.child.kill('SIGTERM');
        await Promise.all([a.exited, b.exited]);
      } finally {
        await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        await admin.end();
      }
    },
  );
});
