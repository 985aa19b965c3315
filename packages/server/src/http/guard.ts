// Every route declares who may call it in its `config`; this hook enforces it before the body is
// validated, so a caller who may not see an org learns nothing about it (404), whatever they send.
//
//   config: { auth: 'public' }                               anyone
//   config: { auth: 'user' }                                 any signed-in user (user-level routes)
//   config: { auth: 'org', permission: 'read:workspaces' }   /orgs/{org_id}/… of the credential's org
//
// Which kinds of credential a route takes (`allow`) defaults to user sessions on user-level routes
// and to user sessions and API keys on org routes; deploy tokens only reach routes that list them.
// A credential restricted to a workspace or an environment reaches only routes under it.
import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Permission } from '../access/permissions.ts';
import { isUuid } from '../platform/ids.ts';
import type { Actor, CredentialResolver, Principal, PrincipalKind } from './principal.ts';
import { ProblemError, problems } from './problem.ts';

export type AuthMode = 'public' | 'user' | 'org';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthMode;
    permission?: Permission;
    /** Owners keep this (non-GET) route while their org is archived or suspended (restore, delete). */
    ownerWhenInactive?: boolean;
    /** Platform admins may call this route on any org, member or not. */
    platformAdmin?: boolean;
    /** Credential kinds this route accepts (defaults above). */
    allow?: readonly PrincipalKind[];
    /**
     * A user-level route an OAuth client may call on the user's behalf (e.g. whoami). Others
     * (switch-org, the profile, CLI login…) would let an application reach beyond its grant.
     */
    delegated?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
    /** The org the request acts in, once the guard has allowed it. */
    orgId: string | null;
  }
}

function credentialOf(request: FastifyRequest): string | null {
  // Seed 003: when both are present, the API key takes precedence.
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey !== '') return apiKey;
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw problems.unauthorized('The Authorization header must be "Bearer <token>".');
  return match[1] ?? null;
}

const USER_ONLY: readonly PrincipalKind[] = ['user'];
const USERS_AND_KEYS: readonly PrincipalKind[] = ['user', 'api_key'];
const KIND_NAMES: Record<PrincipalKind, string> = {
  user: 'a user session',
  api_key: 'an API key',
  deploy_token: 'a deploy token',
};

function refuseKind(principal: Principal, allowed: readonly PrincipalKind[]): never {
  const hint =
    principal.kind === 'deploy_token'
      ? 'Deploy tokens may only call the deployment routes of their environment.'
      : `This route accepts ${allowed.map((kind) => KIND_NAMES[kind]).join(' or ')}.`;
  throw problems.forbidden(
    'credential_not_allowed',
    `This route cannot be called with ${KIND_NAMES[principal.kind]}. ${hint}`,
  );
}

function refuseInactive(principal: Principal): never {
  throw problems.forbidden(
    `org_${principal.orgStatus}`,
    `This organization is ${principal.orgStatus}; its credentials are stopped until it is restored.`,
  );
}

/** A workspace- or environment-bound credential reaches only routes under its own workspace/environment. */
function enforceRestrictions(
  principal: Principal,
  params: { workspace_id?: string; environment_id?: string },
) {
  if (principal.workspaceId) {
    const workspaceId = params.workspace_id?.toLowerCase();
    if (workspaceId === undefined) {
      throw problems.forbidden(
        'workspace_restricted',
        `This credential is restricted to workspace ${principal.workspaceId}; use it only on that workspace's routes.`,
      );
    }
    if (workspaceId !== principal.workspaceId) throw problems.notFound('Workspace');
  }
  if (principal.environmentId) {
    const environmentId = params.environment_id?.toLowerCase();
    if (environmentId !== principal.environmentId) throw problems.notFound('Environment');
  }
}

/**
 * A user session under another org's routes. A 404 either way (API.md: a token acts in exactly one
 * org); for a member of that org the 404 says how to act in it, for anyone else it is the plain one.
 */
class NotActingInOrg extends Error {
  constructor(
    readonly userId: string,
    readonly orgId: string,
    readonly actingIn: string | null,
  ) {
    super('not acting in this org');
  }
}

function notFoundFor(resolver: CredentialResolver, error: Error, done: (error: Error) => void): void {
  if (!(error instanceof NotActingInOrg)) {
    done(error);
    return;
  }
  resolver.isMember(error.userId, error.orgId).then(
    (member) =>
      done(
        member
          ? new ProblemError(
              404,
              'not_found',
              `This token acts in organization ${error.actingIn ?? '(none)'}, not in ${error.orgId}: a token acts in exactly one organization. You are a member of ${error.orgId}: call POST /api/v1/auth/switch-org with {"org_id":"${error.orgId}"} for tokens that act in it.`,
            )
          : problems.notFound('Organization'),
      ),
    (failure: Error) => done(failure),
  );
}

type RouteConfig = FastifyContextConfig;
type GuardHook = (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => void;

export function registerGuard(app: FastifyInstance, resolver: CredentialResolver): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('orgId', null);

  // Default deny, at start-up: a route that forgets to say who may call it is a bug, not a public
  // route. Only the API docs (a plugin's static pages) are exempt.
  //
  // Each guarded route gets its own preValidation hook holding its config: public routes run no
  // guard at all, and no request pays for `request.routeOptions` (Fastify builds that object
  // anew on every access).
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) return;
    const config = (route.config ?? {}) as RouteConfig;
    if (!config.auth) throw new Error(`route ${route.method} ${route.url} must declare config.auth`);
    if (config.auth === 'org' && !config.permission) {
      throw new Error(`route ${route.method} ${route.url} must declare the permission it needs`);
    }
    if (config.auth === 'public') return;
    const own = route.preValidation;
    route.preValidation = [guardHook(resolver, config), ...(own ? (Array.isArray(own) ? own : [own]) : [])];
  });
}

// Callback style, not async: a credential already verified on this node is authorised
// synchronously, without a promise per request (the hot path of every authenticated route).
function guardHook(resolver: CredentialResolver, config: RouteConfig): GuardHook {
  const mode = config.auth as Exclude<AuthMode, 'public'>;
  return (request, _reply, done) => {
    let credential: string | null;
    try {
      credential = credentialOf(request);
      if (!credential) throw problems.unauthorized();
      const known = resolver.resolveKnown(credential);
      if (known !== undefined) {
        authorize(request, mode, config, known);
        return done();
      }
    } catch (error) {
      return notFoundFor(resolver, error as Error, done);
    }
    resolver.resolve(credential).then(
      (principal) => {
        try {
          authorize(request, mode, config, principal);
        } catch (error) {
          return notFoundFor(resolver, error as Error, done);
        }
        done();
      },
      (error: Error) => done(error),
    );
  };
}

/** Everything the route's config demands of the resolved principal; throws the problem otherwise. */
function authorize(
  request: FastifyRequest,
  mode: Exclude<AuthMode, 'public'>,
  config: RouteConfig,
  principal: Principal | null,
): void {
  if (!principal)
    throw problems.unauthorized('The credential is invalid, expired or revoked.', 'invalid_credential');
  request.principal = principal;
  if (mode === 'user') {
    const allowed = config.allow ?? USER_ONLY;
    if (!allowed.includes(principal.kind)) refuseKind(principal, allowed);
    if (principal.oauthClientId && config.delegated !== true) {
      throw problems.forbidden(
        'credential_not_allowed',
        'This route cannot be called with a token issued to an OAuth application; sign in to Orgplane itself.',
      );
    }
    // A user outlives their org's status; a key or token does not (it exists only in its org).
    // (An application acting for a user is a token in that org, like a key.)
    const boundToOrg = principal.kind !== 'user' || principal.oauthClientId !== undefined;
    if (boundToOrg && principal.orgStatus !== 'active') refuseInactive(principal);
    return;
  }

  const orgId = ((request.params as { org_id?: string }).org_id ?? '').toLowerCase();
  const actingAsPlatformAdmin = config.platformAdmin === true && principal.isPlatformAdmin;
  if (!actingAsPlatformAdmin) {
    // Another org — or one this credential does not act in — is indistinguishable from none.
    if (!isUuid(orgId) || orgId !== principal.orgId || !principal.role) {
      // A user session may be one switch-org away from this org: the hook finds out (members only).
      if (isUuid(orgId) && orgId !== principal.orgId && principal.kind === 'user' && !principal.oauthClientId)
        throw new NotActingInOrg(principal.userId, orgId, principal.orgId);
      throw problems.notFound('Organization');
    }
    const allowed = config.allow ?? USERS_AND_KEYS;
    if (!allowed.includes(principal.kind)) refuseKind(principal, allowed);
    enforceRestrictions(principal, request.params as { workspace_id?: string; environment_id?: string });
    // An archived or suspended org stops every credential, except that its owners can still
    // read everything (GET) and use the routes marked ownerWhenInactive (restore, delete) —
    // signed in as themselves, not through a key or token.
    const ownerMayProceed =
      principal.kind === 'user' &&
      principal.oauthClientId === undefined &&
      principal.role === 'owner' &&
      (config.ownerWhenInactive === true || request.method === 'GET' || request.method === 'HEAD');
    if (principal.orgStatus !== 'active' && !ownerMayProceed) refuseInactive(principal);
    const permission = config.permission as Permission; // guaranteed by the onRoute check above
    if (!principal.permissions.has(permission)) {
      throw problems.forbidden(
        'permission_denied',
        principal.kind === 'user'
          ? `Your role (${principal.role}) does not grant ${permission}, which this action needs.`
          : `This credential's scopes do not include ${permission}, which this action needs (a key's scopes are also bounded by its creator's current role, ${principal.role}).`,
      );
    }
  } else if (!isUuid(orgId)) {
    throw problems.notFound('Organization');
  }
  request.orgId = orgId;
}

/** The principal the guard resolved (a route that needs only this skips building the actor). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw problems.unauthorized();
  return request.principal;
}

export function actorOf(request: FastifyRequest): Actor {
  return { principal: principalOf(request), ...originOf(request) };
}

export function originOf(request: FastifyRequest) {
  const userAgent = request.headers['user-agent'];
  return {
    ip: request.ip,
    requestId: request.id,
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 512) : null,
  };
}

/** The org the guard allowed this request to act in. */
export function scopeOf(request: FastifyRequest): string {
  if (!request.orgId) throw new Error('scopeOf() used on a route without auth: "org"');
  return request.orgId;
}
