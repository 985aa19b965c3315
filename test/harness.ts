// Starts a real Orgplane for a test file: the same bootstrap as production, on a fresh in-memory
// PGlite or — in the `postgres` project — a fresh schema of TEST_DATABASE_URL, dropped afterwards.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { type Orgplane, startOrgplane } from '../packages/server/src/bootstrap.ts';
import { loadConfig } from '../packages/server/src/config.ts';

export const onPostgres = process.env.ORGPLANE_TEST_DB === 'postgres';

export interface TestServer extends Orgplane {
  /** Sends a JSON request through the full HTTP stack (fastify.inject). */
  request(
    method: string,
    url: string,
    options?: { body?: unknown; token?: string; headers?: Record<string, string>; ip?: string },
  ): Promise<TestResponse>;
}

export interface TestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers field by field.
  body: any;
  text: string;
}

export async function startTestServer(
  env: Record<string, string> = {},
  options: { logDestination?: { write(line: string): void } } = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'orgplane-test-'));
  const config = loadConfig({
    ORGPLANE_DATA_DIR: dataDir,
    ORGPLANE_PUBLIC_URL: 'http://orgplane.test',
    ORGPLANE_MASTER_KEY: randomBytes(32).toString('base64'),
    // Suites create many users from one address; rate-limit tests set their own limits.
    ORGPLANE_SIGNUP_IP_LIMIT_MAX: '100000',
    ORGPLANE_LOGIN_IP_LIMIT_MAX: '100000',
    LOG_LEVEL: options.logDestination ? 'info' : 'silent',
    ...env,
  });
  let schema: string | undefined;
  let url: string | null = null;
  if (onPostgres) {
    url = process.env.TEST_DATABASE_URL ?? null;
    if (!url) throw new Error('the postgres test project needs TEST_DATABASE_URL');
    schema = `test_${randomBytes(6).toString('hex')}`;
    await withClient(url, (client) => client.query(`CREATE SCHEMA ${schema}`));
  }
  const orgplane = await startOrgplane(
    config,
    { url, dataDir: null, schema, poolSize: 12 },
    options.logDestination ? { logDestination: options.logDestination } : { logger: false },
  );
  await orgplane.app.ready();
  return {
    ...orgplane,
    async request(method, requestUrl, options = {}) {
      const headers: Record<string, string> = { ...(options.headers ?? {}) };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      let payload: string | undefined;
      if (options.body !== undefined) {
        headers['content-type'] ??= 'application/json';
        payload = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      }
      const response = await orgplane.app.inject({
        method: method as 'GET',
        url: requestUrl,
        headers,
        payload,
        ...(options.ip ? { remoteAddress: options.ip } : {}),
      });
      let body: unknown = response.body;
      try {
        body = response.body ? JSON.parse(response.body) : undefined;
      } catch {}
      return {
        status: response.statusCode,
        headers: response.headers as TestResponse['headers'],
        body,
        text: response.body,
      };
    },
    async close() {
      await orgplane.close();
      if (schema && url) await withClient(url, (client) => client.query(`DROP SCHEMA ${schema} CASCADE`));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A server for the calling test file: started before its tests, closed after them. The returned
 * object forwards to the running server, so a file declares it in one line.
 */
export function useTestServer(
  env: Record<string, string> = {},
  options: { logDestination?: { write(line: string): void } } = {},
): TestServer {
  let current: TestServer | undefined;
  beforeAll(async () => {
    current = await startTestServer(env, options);
  });
  afterAll(async () => {
    await current?.close();
  });
  const live = () => {
    if (!current) throw new Error('the test server starts in beforeAll');
    return current;
  };
  return {
    request: (...args) => live().request(...args),
    close: () => live().close(),
    get app() {
      return live().app;
    },
    get deps() {
      return live().deps;
    },
  };
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

let counter = 0;
export const PASSWORD = 'correct-horse-battery-staple-42';

/** Signs up a fresh user and logs in: their personal org is the token's active org. */
export async function newUser(server: TestServer, label = 'user') {
  const email = `${label}-${process.pid}-${++counter}-${randomBytes(3).toString('hex')}@example.com`;
  const signup = await server.request('POST', '/api/v1/auth/signup', {
    body: { email, password: PASSWORD, name: label },
  });
  if (signup.status !== 201) throw new Error(`signup failed: ${signup.status} ${signup.text}`);
  const login = await server.request('POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.text}`);
  return {
    email,
    userId: signup.body.user.id as string,
    orgId: signup.body.organization.id as string,
    token: login.body.access_token as string,
    refreshToken: login.body.refresh_token as string,
  };
}

export type TestUser = Awaited<ReturnType<typeof newUser>>;

/** Adds `user` to `orgId` with `role` directly in the database (invitations come later). */
export async function addMember(
  server: TestServer,
  orgId: string,
  userId: string,
  role: 'owner' | 'admin' | 'member' | 'viewer',
) {
  await server.deps.db.insertInto('memberships').values({ org_id: orgId, user_id: userId, role }).execute();
}

/** A token for `user` acting in `orgId` (via switch-org). */
export async function tokenFor(server: TestServer, user: TestUser, orgId: string): Promise<string> {
  const response = await server.request('POST', '/api/v1/auth/switch-org', {
    token: user.token,
    body: { org_id: orgId },
  });
  if (response.status !== 200) throw new Error(`switch-org failed: ${response.status} ${response.text}`);
  return response.body.access_token;
}
