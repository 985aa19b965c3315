// The Orgplane paths the bench can measure (BENCH_PATHS), each with the check its answer must pass
// before load is sent: the right user, org, role and credential, so a broken setup cannot
// benchmark 401s or someone else's answer.
import { type LoggingMode, RATIO_TARGETS } from './logging.ts';
import type { Target } from './measure.ts';
import { type Account, api, createApiKey, KEY_SCOPES, PASSWORD, signUp } from './orgplane-api.ts';
import type { ServerChild } from './server-child.ts';
import { type PathKey, settings } from './settings.ts';

const WORKSPACES = 20;

const ok = (status: number) => (status === 200 ? null : 'expected 200');

interface Whoami {
  user_id?: string;
  email?: string;
  organization?: { id?: string } | null;
  role?: string | null;
  scopes?: string[];
  credential?: { type?: string; id?: string };
}

/** whoami's answer for this account and credential: right user, org, role, scopes and credential. */
export function checkWhoami(
  account: Account,
  credential: { type: 'access_token' | 'api_key'; id?: string },
  scopes?: string[],
) {
  return (status: number, raw: unknown): string | null => {
    const body = raw as Whoami;
    if (status !== 200) return 'expected 200';
    if (body.email !== account.email || body.user_id !== account.userId) return 'wrong user';
    if (body.organization?.id !== account.orgId || body.role !== 'owner') return 'wrong org or role';
    if (body.credential?.type !== credential.type) return `expected credential type ${credential.type}`;
    if (credential.id && body.credential.id !== credential.id) return 'wrong credential id';
    if (scopes && [...(body.scopes ?? [])].sort().join(' ') !== [...scopes].sort().join(' ')) {
      return `expected scopes ${scopes.join(' ')}`;
    }
    return null;
  };
}

/** An ES256 JWT whose claims name this key (and its scopes), valid for `seconds`. */
function checkExchangedToken(account: Account, keyId: string, seconds: number) {
  return (status: number, raw: unknown): string | null => {
    const body = raw as { access_token?: unknown; token_type?: unknown; expires_in?: unknown };
    if (status !== 200) return 'expected 200';
    if (body.token_type !== 'Bearer' || body.expires_in !== seconds) return `expected Bearer, ${seconds} s`;
    if (typeof body.access_token !== 'string') return 'no access_token';
    const [header, payload] = body.access_token
      .split('.')
      .slice(0, 2)
      .map((part) => {
        try {
          return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
        } catch {
          return null;
        }
      });
    if (header?.alg !== 'ES256') return 'expected an ES256 JWT';
    if (payload?.sub !== account.userId || payload?.org_id !== account.orgId) return 'wrong subject or org';
    if (payload?.api_key_id !== keyId) return 'the token does not name the key';
    return null;
  };
}

/** Signs up, logs in, creates the workspaces and an API key; returns the targets to measure. */
export async function prepareOrgplane(server: ServerChild, mode: LoggingMode): Promise<Target[]> {
  const account = await signUp(server.url);
  const { orgId, token } = account;
  for (let i = 1; i <= WORKSPACES; i++) {
    await api(server.url, 'POST', `/api/v1/orgs/${orgId}/workspaces`, {
      token,
      body: { name: `Workspace ${i}`, description: `Benchmark workspace number ${i}` },
    });
  }
  const apiKey = await createApiKey(server.url, account, 'bench');
  const auth = { authorization: `Bearer ${token}` };
  const TOKEN_TTL_MINUTES = 60;
  const all: Target[] = [
    {
      key: 'healthz',
      label: 'GET /healthz',
      method: 'GET',
      path: '/healthz',
      reportLatency: true,
      check: ok,
    },
    {
      key: 'whoami-jwt',
      label: 'GET /api/v1/auth/whoami (JWT)',
      method: 'GET',
      path: '/api/v1/auth/whoami',
      headers: auth,
      reportLatency: true,
      check: checkWhoami(account, { type: 'access_token' }),
    },
    {
      key: 'whoami-key',
      label: 'GET /api/v1/auth/whoami (API key)',
      method: 'GET',
      path: '/api/v1/auth/whoami',
      headers: { 'x-api-key': apiKey.key },
      reportLatency: true,
      check: checkWhoami(account, { type: 'api_key', id: apiKey.id }, KEY_SCOPES),
    },
    {
      key: 'workspaces',
      label: `GET /api/v1/orgs/{org_id}/workspaces (${WORKSPACES})`,
      method: 'GET',
      path: `/api/v1/orgs/${orgId}/workspaces`,
      headers: auth,
      reportLatency: true,
      check: (status, body) =>
        ok(status) ??
        ((body as { data?: unknown[] }).data?.length === WORKSPACES
          ? null
          : `expected ${WORKSPACES} workspaces`),
    },
    {
      key: 'token',
      label: 'POST /api/v1/auth/token (API key → JWT)',
      method: 'POST',
      path: '/api/v1/auth/token',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: apiKey.key, ttl_minutes: TOKEN_TTL_MINUTES }),
      reportLatency: true,
      check: checkExchangedToken(account, apiKey.id, TOKEN_TTL_MINUTES * 60),
    },
    {
      key: 'login',
      label: 'POST /api/v1/auth/login',
      method: 'POST',
      path: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: account.email, password: PASSWORD }),
      reportLatency: false,
      check: (status, body) =>
        ok(status) ??
        (typeof (body as { access_token?: unknown }).access_token === 'string' ? null : 'no token'),
    },
  ];
  return all
    .filter((target) => settings.paths.includes(target.key as PathKey))
    .map((target) => {
      const goal = RATIO_TARGETS[mode][target.key];
      return goal === undefined ? target : { ...target, goal };
    });
}
