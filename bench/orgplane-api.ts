// The few API calls that set a benchmark up over HTTP, as a client would: sign up and log in, and
// make API keys with the owner's token. Any answer outside 2xx stops the run (setup must not fail
// quietly and leave the load measuring errors).
import { randomBytes } from 'node:crypto';

export const PASSWORD = 'bench-correct-horse-battery-staple';

export async function api(
  base: string,
  method: string,
  url: string,
  options: { token?: string; body?: unknown } = {},
) {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${url}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  // biome-ignore lint/suspicious/noExplicitAny: setup reads a few fields of known responses.
  const body: any = text ? JSON.parse(text) : null;
  if (response.status >= 300) throw new Error(`setup: ${method} ${url} → ${response.status} ${text}`);
  return body;
}

export interface Account {
  email: string;
  userId: string;
  orgId: string;
  /** The owner's access token, from login. */
  token: string;
}

/** Signs up (a new user owning a new org) and logs in. */
export async function signUp(base: string): Promise<Account> {
  const email = `bench-${randomBytes(4).toString('hex')}@example.com`;
  const signup = await api(base, 'POST', '/api/v1/auth/signup', {
    body: { email, password: PASSWORD, name: 'Bench' },
  });
  const login = await api(base, 'POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
  return { email, userId: signup.user.id, orgId: signup.organization.id, token: login.access_token };
}

export const KEY_SCOPES = ['read:org', 'read:workspaces'];

/** A real API key, made through the API with the owner's token: its id and its secret. */
export async function createApiKey(base: string, account: Account, name: string) {
  const created = await api(base, 'POST', `/api/v1/orgs/${account.orgId}/api-keys`, {
    token: account.token,
    body: { name, scopes: KEY_SCOPES },
  });
  if (typeof created.key !== 'string' || !created.key.startsWith('fl_')) {
    throw new Error(`setup: the new API key has no fl_ secret: ${JSON.stringify(created)}`);
  }
  return { id: created.id as string, key: created.key as string };
}
