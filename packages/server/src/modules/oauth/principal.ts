// Who calls with an access token issued by the OAuth server: the user, through the client they
// authorized, in the org they chose, with the granted scopes ∩ their current role there, for as
// long as the grant exists. Cached like first-party sessions; dropped on every node when the grant,
// the user, their membership or the org changes.
import type { JWTPayload } from 'jose';
import { isGrantable, type Permission, permissionsOf } from '../../access/permissions.ts';
import type { AppDeps } from '../../app-deps.ts';
import type { Principal } from '../../http/principal.ts';
import { findCaller } from '../auth/repo.ts';
import { findClientWithOrg, grantOrg } from './repo.ts';

const CACHE = { name: 'oauth-tokens', maxEntries: 100_000, maxAgeMs: 10 * 60_000 };

/**
 * Never granted to an application, whatever it registered: credentials that would outlive the
 * grant (API keys, deploy and service tokens, other OAuth clients).
 */
const NOT_DELEGATED: ReadonlySet<string> = new Set([
  'write:api_keys',
  'write:deploy_tokens',
  'mint:service_tokens',
  'write:oauth_clients',
]);

function oauthCache(deps: AppDeps) {
  return deps.caches.named<Principal>(CACHE.name, CACHE.maxEntries, CACHE.maxAgeMs);
}

/** Whether a verified access token was issued by the OAuth server (it names its grant). */
export function isOauthToken(claims: JWTPayload): boolean {
  return typeof claims.oauth_grant === 'string';
}

export function knownOauthPrincipal(deps: AppDeps, jti: string): Principal | undefined {
  return oauthCache(deps).get(`j:${jti}`);
}

export async function oauthPrincipal(deps: AppDeps, claims: JWTPayload): Promise<Principal | null> {
  const { sub, jti } = claims;
  const grantId = claims.oauth_grant as string;
  const orgId = typeof claims.org_id === 'string' ? claims.org_id : null;
  const clientId = typeof claims.client_id === 'string' ? claims.client_id : null;
  if (!sub || !jti || !orgId || !clientId) return null;
  return oauthCache(deps).getOrLoad(`j:${jti}`, async () => {
    const [caller, grantedOrg, client] = await Promise.all([
      findCaller(deps.db, sub, orgId, null),
      grantOrg(deps.db, grantId),
      findClientWithOrg(deps.db, clientId),
    ]);
    // The grant, the user's membership and the client must all still be there. A client whose own
    // org is archived or suspended stops everywhere; in that same org the guard answers 403 with
    // the org's status, like every credential of the org.
    if (!caller || grantedOrg !== orgId || !caller.role || !client) return null;
    if (client.org_status !== 'active' && client.org_id !== orgId) return null;
    const roleAllows = permissionsOf(caller.role);
    const registered = new Set(client.scopes);
    const scopes = String(claims.scope ?? '')
      .split(' ')
      .filter(
        (scope): scope is Permission =>
          isGrantable(scope) && roleAllows.has(scope) && registered.has(scope) && !NOT_DELEGATED.has(scope),
      );
    const principal: Principal = {
      kind: 'user',
      userId: caller.id,
      email: caller.email,
      orgId,
      orgName: caller.org_name,
      orgStatus: caller.org_status,
      role: caller.role,
      permissions: new Set(scopes),
      credential: { type: 'access_token', id: jti },
      sessionId: null,
      isPlatformAdmin: false, // an application never acts with platform-admin powers
      workspaceId: null,
      environmentId: null,
      expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : null,
      rateLimit: null,
      oauthClientId: clientId,
    };
    const tags = [
      `user:${sub}`,
      `org:${orgId}`,
      `grant:${grantId}`,
      `client:${clientId}`,
      `org:${client.org_id}`,
    ];
    return { value: principal, tags };
  });
}
