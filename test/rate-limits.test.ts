// Throttling (API.md): failed logins per account and per IP, signups per IP; 429 with Retry-After.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, type TestServer } from './harness.ts';

let server: TestServer;
let ipCounter = 0;
const freshIp = () => `10.0.${Math.floor(++ipCounter / 250)}.${ipCounter % 250}`;

beforeAll(async () => {
  server = await startTestServer({
    ORGPLANE_LOGIN_ACCOUNT_LIMIT_MAX: '3',
    ORGPLANE_LOGIN_IP_LIMIT_MAX: '6',
    ORGPLANE_SIGNUP_IP_LIMIT_MAX: '8',
    ORGPLANE_TRUST_PROXY: 'true', // one load balancer in front, which appends the client's address
  });
});
afterAll(async () => {
  await server?.close();
});

async function account() {
  const email = `rl-${++ipCounter}-${Date.now()}@example.com`;
  const response = await server.request('POST', '/api/v1/auth/signup', {
    body: { email, password: PASSWORD },
    ip: freshIp(),
  });
  expect(response.status).toBe(201);
  return email;
}

const login = (email: string, password: string, ip: string) =>
  server.request('POST', '/api/v1/auth/login', { body: { email, password }, ip });

describe('login throttling', () => {
  it('locks an account after its failed attempts, even for the right password, with Retry-After', async () => {
    const email = await account();
    for (let i = 0; i < 3; i++)
      expect((await login(email, 'wrong-password-000', freshIp())).status).toBe(401);
    const locked = await login(email, PASSWORD, freshIp());
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('rate_limited');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(15 * 60);
  });

  it('counts failures only: a successful login clears the account count', async () => {
    const email = await account();
    for (let round = 0; round < 3; round++) {
      const ip = freshIp(); // the per-IP limit (6 failures) is not under test here
      expect((await login(email, 'wrong-password-000', ip)).status).toBe(401);
      expect((await login(email, 'wrong-password-000', ip)).status).toBe(401);
      expect((await login(email, PASSWORD, ip)).status).toBe(200);
    }
  });

  it('throttles an IP that fails across many accounts', async () => {
    const ip = freshIp();
    for (let i = 0; i < 6; i++)
      expect((await login(`nobody-${i}@example.com`, 'wrong-password-000', ip)).status).toBe(401);
    const blocked = await login('someone-else@example.com', 'wrong-password-000', ip);
    expect(blocked.status).toBe(429);
    expect(blocked.headers['retry-after']).toBeDefined();
    // Another IP is unaffected.
    expect((await login('someone-else@example.com', 'wrong-password-000', freshIp())).status).toBe(401);
  });

  it('behind a trusted proxy, a forged X-Forwarded-For cannot dodge the per-IP limit', async () => {
    const client = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const response = await server.request('POST', '/api/v1/auth/login', {
        body: { email: `forger-${i}@example.com`, password: 'wrong-password-000' },
        ip: '10.9.9.9', // the load balancer
        headers: { 'x-forwarded-for': `6.6.6.${i}, ${client}` }, // forged entry, then the proxy's
      });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429]);
  });

  it('counts parallel guesses atomically: no more than the limit ever reach the password check', async () => {
    const email = await account();
    const results = await Promise.all(
      Array.from({ length: 12 }, () => login(email, 'wrong-password-000', freshIp())),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(9);
  });
});

describe('signup throttling and switch', () => {
  it('limits signups per IP', async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) {
      const response = await server.request('POST', '/api/v1/auth/signup', {
        body: { email: `burst-${ipCounter}-${i}@example.com`, password: PASSWORD },
        ip,
      });
      statuses.push(response.status);
    }
    expect(statuses.slice(0, 8).every((s) => s === 201)).toBe(true);
    expect(statuses[8]).toBe(429);
  });

  it('ORGPLANE_ALLOW_SIGNUP=false turns signup off', async () => {
    const closed = await startTestServer({ ORGPLANE_ALLOW_SIGNUP: 'false' });
    try {
      const response = await closed.request('POST', '/api/v1/auth/signup', {
        body: { email: 'x@example.com', password: PASSWORD },
      });
      expect(response.status).toBe(403);
      expect(response.body.code).toBe('signup_disabled');
    } finally {
      await closed.close();
    }
  });
});
