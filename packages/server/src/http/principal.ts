// Who is calling, resolved once per request from the credential (never from the body).
import type { Permission } from '../access/permissions.ts';
import type { OrgRole, OrgStatus } from '../db/schema.ts';

export interface Principal {
  userId: string;
  email: string;
  /** The one org this credential acts in (the access token's org_id claim), if still a member. */
  orgId: string | null;
  orgName: string | null;
  orgStatus: OrgStatus | null;
  role: OrgRole | null;
  permissions: ReadonlySet<Permission>;
  credential: { type: 'access_token'; id: string };
  /** The sign-in session (refresh-token family) the credential belongs to. */
  sessionId: string | null;
  isPlatformAdmin: boolean;
}

/** Resolves a presented credential; null when it is not valid (→ 401). */
export interface CredentialResolver {
  resolveBearer(token: string): Promise<Principal | null>;
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
