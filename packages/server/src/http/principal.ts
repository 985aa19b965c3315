// Who is calling, resolved once per request from the credential (never from the body).
import type { Permission } from '../access/permissions.ts';
import type { OrgRole, OrgStatus } from '../db/schema.ts';

/** Who holds the credential: a signed-in user, an API key (or a token exchanged for one), a deploy token. */
export type PrincipalKind = 'user' | 'api_key' | 'deploy_token';

export interface Principal {
  kind: PrincipalKind;
  /** The user (for machine credentials: the user who created it, whose permissions bound it). */
  userId: string;
  email: string;
  /** The one org this credential acts in (the access token's org_id claim), if still a member. */
  orgId: string | null;
  orgName: string | null;
  orgStatus: OrgStatus | null;
  role: OrgRole | null;
  permissions: ReadonlySet<Permission>;
  /** What was presented: a JWT (`access_token`, with the key it was exchanged for) or an opaque token. */
  credential: { type: 'access_token' | 'api_key' | 'deploy_token'; id: string; api_key_id?: string };
  /** The sign-in session (refresh-token family) the credential belongs to. */
  sessionId: string | null;
  isPlatformAdmin: boolean;
  /** A machine credential restricted to one workspace (API key) or environment (deploy token). */
  workspaceId: string | null;
  environmentId: string | null;
  /** When the credential itself stops (epoch ms), checked on every use of a cached principal. */
  expiresAt: number | null;
  /** A per-key limit (API keys created with `rate_limit`), counted on every request. */
  rateLimit: { bucket: string; max: number; windowSeconds: number } | null;
  /**
   * Set when a user acts through an OAuth client (a token from the OAuth server): org routes take
   * it within its scopes; user-level routes only if they say so (`delegated` in the route config).
   */
  oauthClientId?: string;
}

/**
 * Resolves a presented credential; null when it is not valid (→ 401). May throw a ProblemError
 * (429 over a key's rate limit, 401 with a precise reason for a token that is not an API credential).
 */
export interface CredentialResolver {
  resolve(token: string): Promise<Principal | null>;
  /**
   * The same answer without waiting, when this node already knows it (cached and nothing to count
   * in the database); undefined when it does not (then `resolve`).
   */
  resolveKnown(token: string): Principal | null | undefined;
  /**
   * Whether the user is a member of the org (asked only on the way to a 404, to tell a member
   * acting in another org to switch).
   */
  isMember(userId: string, orgId: string): Promise<boolean>;
}

/** What services need to know about the request beyond its body: who, from where, which request. */
export interface Actor {
  principal: Principal;
  ip: string;
  requestId: string;
  userAgent: string | null;
}

/** An unauthenticated request's origin (signup, login), for throttling and audit. */
export interface RequestOrigin {
  ip: string;
  requestId: string;
  userAgent: string | null;
}

/** The API key behind a credential (the key itself, or the key a JWT was exchanged for), if any. */
export function apiKeyIdOf(principal: Principal): string | null {
  if (principal.kind !== 'api_key') return null;
  return principal.credential.api_key_id ?? principal.credential.id;
}
