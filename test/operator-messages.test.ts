// What an operator reads when a start or a command goes wrong, from real processes: a bad
// LOG_LEVEL, a master key that is not the one the data was sealed with, and `orgplane --help`.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { onPostgres, PASSWORD } from './harness.ts';
import {
  failedStart,
  killStartedServers,
  type ProcessDatabase,
  processDatabase,
  runCli,
  startServerProcess,
} from './server-process.ts';

const databases: ProcessDatabase[] = [];
afterAll(async () => {
  killStartedServers();
  for (const database of databases) await database.drop();
});

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('refusing to start, with a message that says what to do', () => {
  it('LOG_LEVEL=verbose names the variable and its allowed values (exit 78), not pino', async () => {
    const { code, output } = await failedStart({ LOG_LEVEL: 'verbose', PORT: '0' });
    expect(code).toBe(78);
    expect(output.trim()).toBe(
      'orgplane: configuration error: LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "verbose"',
    );
  });

  it('a master key other than the one the data was sealed with is named as such, and the original key recovers', async () => {
    const database = await processDatabase();
    databases.push(database);
    const first = await startServerProcess(database.env);
    const signup = await post(`${first.url}/api/v1/auth/signup`, {
      email: 'sealed@example.com',
      password: PASSWORD,
    });
    expect(signup.status).toBe(201);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    // Another key, as a second paste of `openssl rand -base64 32` makes.
    const other = randomBytes(32).toString('base64');
    const refused = await failedStart({ ...database.env, ORGPLANE_MASTER_KEY: other });
    expect(refused.code, refused.output).toBe(78);
    expect(refused.output).toContain('orgplane: configuration error: ORGPLANE_MASTER_KEY (fingerprint');
    expect(refused.output).toContain('does not match the master key this data was sealed with');
    expect(refused.output).toContain(
      'Start again with the original key: set ORGPLANE_MASTER_KEY to that original key',
    );
    // Embedded, the data directory's own generated key is the original: unsetting is the way back.
    if (!onPostgres) expect(refused.output).toContain('or unset it');
    expect(refused.output).toContain('"Operations" in the README');
    expect(refused.output).not.toContain('unable to authenticate data');

    // With the original key everything is there.
    const again = await startServerProcess(database.env);
    const login = await post(`${again.url}/api/v1/auth/login`, {
      email: 'sealed@example.com',
      password: PASSWORD,
    });
    expect(login.status).toBe(200);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  }, 120_000);
});

describe('orgplane help', () => {
  it.each([['--help'], ['-h'], ['help']])(
    '`orgplane %s` prints the usage on stdout and exits 0',
    async (flag) => {
      const { code, stdout, stderr } = await runCli([flag]);
      expect(code).toBe(0);
      expect(stderr).toBe('');
      expect(stdout).toMatch(/^usage:\n/);
      for (const command of ['login --url', 'create-user --email', 'rotate-signing-key'])
        expect(stdout).toContain(`orgplane ${command}`);
    },
  );

  it('an unknown or missing command is a usage error on stderr (exit 64)', async () => {
    for (const args of [[], ['frobnicate']]) {
      const { code, stdout, stderr } = await runCli(args);
      expect(code).toBe(64);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^usage:\n/);
    }
  });
});
