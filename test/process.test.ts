// The real entry point as a newcomer runs it: a child process of packages/server/src/main.ts.
// Data survives a restart, SIGTERM lets in-flight requests finish, bad config fails clearly, two
// nodes starting together on one PostgreSQL both come up on one schema, and the embedded database
// runs in a process of its own that follows the server out.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { onPostgres, PASSWORD } from './harness.ts';
import {
  CLI_ARGS,
  childProcesses,
  freePort,
  killStartedServers,
  SERVER_ARGS,
  startServerProcess,
} from './server-process.ts';

const dirs: string[] = [];

afterAll(() => {
  killStartedServers();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const startNode = (env: Record<string, string>) => startServerProcess(env);

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
    // The slow first start (initdb) says what it is doing; later starts do not.
    expect(first.output()).toContain('first start: creating the embedded database');

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
    expect(second.output()).not.toContain('first start');
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
      [...CLI_ARGS, 'create-user', '--email', 'ops@example.com', '--name', 'Ops'],
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
    const second = spawn(process.execPath, [...CLI_ARGS, 'rotate-signing-key'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let refused = '';
    second.stderr?.on('data', (chunk) => (refused += chunk));
    expect(await new Promise((resolve) => second.on('exit', resolve))).not.toBe(0);
    expect(refused).toContain('in use by another Orgplane process');
    // …and names the way that works beside a running server.
    expect(refused).toContain('/api/v1/admin/signing-keys/rotate');
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
    const child = spawn(process.execPath, [...SERVER_ARGS], {
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

// ── the embedded database's own process ─────────────────────────────────────────────────────────

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(done: () => boolean, what: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!done()) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - started;
}

/** What `pid` has open (Linux /proc): files by path, sockets as socket:[inode]. */
const openFiles = (pid: number) =>
  readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return '';
    }
  });

/** Paths of the unix sockets `pid` has open (its socket:[inode]s looked up in /proc/net/unix). */
function unixSocketPaths(pid: number): string[] {
  const inodes = new Set(openFiles(pid).map((file) => /^socket:\[(\d+)\]$/.exec(file)?.[1]));
  return readFileSync('/proc/net/unix', 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => inodes.has(fields[6]) && fields[7])
    .map((fields) => fields[7] as string);
}

/** Inodes of the TCP sockets listening on this machine (state 0A in /proc/net/tcp and tcp6). */
function tcpListenerInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '0A') inodes.add(fields[9] as string);
    }
  }
  return inodes;
}

/** Resident memory in MB (10⁶ bytes; /proc reports KiB). */
const rssMb = (pid: number) =>
  Math.round((Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024) / 1e6);

// The embedded database does not depend on the test project's database: once is enough.
describe.runIf(!onPostgres && existsSync('/proc/self/fd'))('the embedded database in its own process', () => {
  it('serves from a child on a private socket, hears revocations, follows the server out and keeps the data', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'orgplane-child-'));
    // The server's own TMPDIR, so the socket directory it creates can be found and checked.
    const tmp = mkdtempSync(path.join(tmpdir(), 'orgplane-tmp-'));
    dirs.push(dataDir, tmp);
    const pgdata = path.join(realpathSync(dataDir), 'pgdata');
    const socketDirs = () => readdirSync(tmp).filter((name) => name.startsWith('orgplane-db-'));
    // A module-loading hook in the server (not in its database process, whose NODE_OPTIONS the
    // server clears) notes which database drivers it loads.
    const loaded = path.join(tmp, 'loaded.txt');
    writeFileSync(
      path.join(tmp, 'hooks.mjs'),
      `import { appendFileSync } from 'node:fs';
       export async function load(url, context, next) {
         if (/pglite|\\/node_modules\\/pg\\//.test(url)) appendFileSync(${JSON.stringify(loaded)}, url + '\\n');
         return next(url, context);
       }`,
    );
    writeFileSync(
      path.join(tmp, 'record-loads.mjs'),
      `import { register } from 'node:module';
       register(${JSON.stringify(pathToFileURL(path.join(tmp, 'hooks.mjs')).href)});`,
    );
    const env = {
      ORGPLANE_DATA_DIR: dataDir,
      DATABASE_URL: '',
      ORGPLANE_MASTER_KEY: '',
      TMPDIR: tmp,
      NODE_OPTIONS: `--import ${path.join(tmp, 'record-loads.mjs')}`,
    };

    const first = await startNode(env);
    const server = first.child.pid as number;
    // (tsx may run an esbuild service beside it.)
    const databases = childProcesses(server).filter((child) => /embedded-server\.(ts|js)/.test(child.args));
    expect(databases).toHaveLength(1);
    const database = databases[0]!.pid;
    // PGlite runs in the child: the server reaches it through pg and never loads PGlite…
    const modules = readFileSync(loaded, 'utf8').trim().split('\n');
    expect(modules.some((url) => url.includes('/node_modules/pg/'))).toBe(true);
    expect(modules.filter((url) => /@electric-sql|kysely-pglite-dialect/.test(url))).toEqual([]);
    // …and the child holds the database files open, the server none of them.
    expect(openFiles(database).some((file) => file.startsWith(`${pgdata}/`))).toBe(true);
    expect(openFiles(server).filter((file) => file.startsWith(`${pgdata}/`))).toEqual([]);
    // It listens on a unix socket in a directory only this user may enter, and on no TCP port.
    expect(socketDirs()).toHaveLength(1);
    const socketDir = path.join(tmp, socketDirs()[0]!);
    expect(statSync(socketDir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(socketDir, '.s.PGSQL.5432')).isSocket()).toBe(true);
    const listening = tcpListenerInodes();
    const tcp = openFiles(database)
      .map((file) => /^socket:\[(\d+)\]$/.exec(file)?.[1])
      .filter((inode) => inode && listening.has(inode));
    expect(tcp).toEqual([]);

    // The credential caches hear the database through the socket (0 would mean paused caches).
    const metrics = await (await fetch(`${first.url}/metrics`)).text();
    expect(metrics).toMatch(/^orgplane_change_feed_up 1$/m);
    const signup = await post(`${first.url}/api/v1/auth/signup`, {
      email: 'child@example.com',
      password: PASSWORD,
    });
    expect(signup.status).toBe(201);
    const { organization } = (await signup.json()) as { organization: { id: string } };
    const login = await post(`${first.url}/api/v1/auth/login`, {
      email: 'child@example.com',
      password: PASSWORD,
    });
    const { access_token } = (await login.json()) as { access_token: string };
    const owner = { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' };
    const created = await fetch(`${first.url}/api/v1/orgs/${organization.id}/api-keys`, {
      method: 'POST',
      headers: owner,
      body: JSON.stringify({ name: 'child', scopes: ['read:workspaces'] }),
    });
    expect(created.status).toBe(201);
    const key = (await created.json()) as { id: string; key: string };
    const whoami = () => fetch(`${first.url}/api/v1/auth/whoami`, { headers: { 'x-api-key': key.key } });
    expect((await whoami()).status).toBe(200);
    expect((await whoami()).status).toBe(200); // now served from the cache
    const revoked = await fetch(`${first.url}/api/v1/orgs/${organization.id}/api-keys/${key.id}`, {
      method: 'DELETE',
      headers: { authorization: owner.authorization },
    });
    expect(revoked.status).toBe(204);
    const answered = Date.now();
    let refused = false;
    while (!refused && Date.now() - answered < 1_000) refused = (await whoami()).status === 401;
    expect(refused).toBe(true);
    console.log(`embedded: server RSS ${rssMb(server)} MB, database process RSS ${rssMb(database)} MB`);

    // Killed without a word, the server leaves its database process disconnected: it closes the
    // database, removes its socket directory and exits.
    first.child.kill('SIGKILL');
    await first.exited;
    const gone = await until(() => !isRunning(database), 'the database process to exit', 5_000);
    console.log(`embedded: database process exited ${gone} ms after its server was killed`);
    expect(socketDirs()).toEqual([]);

    // A new server takes over the stale lock and finds everything that was committed.
    const second = await startNode(env);
    const successor = childProcesses(second.child.pid as number).find((child) =>
      /embedded-server\.(ts|js)/.test(child.args),
    );
    expect(successor).toBeDefined();
    const again = await post(`${second.url}/api/v1/auth/login`, {
      email: 'child@example.com',
      password: PASSWORD,
    });
    expect(again.status).toBe(200);
    const stillRevoked = await fetch(`${second.url}/api/v1/auth/whoami`, {
      headers: { 'x-api-key': key.key },
    });
    expect(stillRevoked.status).toBe(401);
    expect(socketDirs()).toHaveLength(1);

    // A clean shutdown leaves nothing behind: no process, no socket directory, no lock.
    second.child.kill('SIGTERM');
    expect(await second.exited, second.output().slice(-1500)).toBe(0);
    await until(() => !isRunning(successor!.pid), 'the database process to exit', 5_000);
    expect(socketDirs()).toEqual([]);
    expect(existsSync(path.join(dataDir, 'orgplane.lock'))).toBe(false);
  }, 180_000);

  it('keeps its socket private with a TMPDIR too long for a socket path, and ignores PGSSLMODE', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'orgplane-child-'));
    // A TMPDIR whose socket path would be cut short by the kernel's 108-byte limit.
    const longTmp = path.join(mkdtempSync(path.join(tmpdir(), 'orgplane-tmp-')), 'x'.repeat(100));
    mkdirSync(longTmp, { recursive: true });
    dirs.push(dataDir, path.dirname(longTmp));
    const before = new Set(readdirSync('/tmp').filter((name) => name.startsWith('orgplane-db-')));
    const node = await startNode({
      ORGPLANE_DATA_DIR: dataDir,
      DATABASE_URL: '',
      ORGPLANE_MASTER_KEY: '',
      TMPDIR: longTmp,
      // Set where a managed PostgreSQL is used; a local socket must not ask for TLS.
      PGSSLMODE: 'require',
    });
    expect((await fetch(`${node.url}/readyz`)).status).toBe(200);
    // Nothing was created in the long TMPDIR (a truncated path would land beside the private
    // directory); the socket lives in a private directory under /tmp instead.
    expect(readdirSync(longTmp).filter((name) => name.startsWith('orgplane-db-'))).toEqual([]);
    // The directory is the one this node's database process listens in: other test runs on the
    // machine (CI runs two Node lines side by side) make theirs in /tmp at the same time.
    const server = node.child.pid as number;
    const database = childProcesses(server).find((child) => /embedded-server\.(ts|js)/.test(child.args));
    const socketPath = unixSocketPaths(database!.pid).find((file) => file.endsWith('/.s.PGSQL.5432'));
    const socketDir = path.dirname(socketPath ?? '');
    expect(path.dirname(socketDir)).toBe('/tmp');
    expect(path.basename(socketDir)).toMatch(/^orgplane-db-/);
    expect(before.has(path.basename(socketDir))).toBe(false);
    expect(statSync(socketDir).mode & 0o777).toBe(0o700);
    const socket = statSync(path.join(socketDir, '.s.PGSQL.5432'));
    expect(socket.isSocket()).toBe(true);
    expect(socket.mode & 0o777).toBe(0o600);
    node.child.kill('SIGTERM');
    expect(await node.exited, node.output().slice(-1500)).toBe(0);
    expect(existsSync(socketDir)).toBe(false);
  }, 120_000);
});
