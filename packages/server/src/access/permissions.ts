// The permission catalogue: every permission a route can require, and which org role holds it.
// Roles follow seed 002 (Owner / Admin / Member / Viewer); permission names follow seed 003's
// `verb:resource` scopes, whose own names (read:solutions … admin:org) are part of the catalogue
// so that API keys and OAuth clients can later be granted exactly these strings.
import type { OrgRole } from '../db/schema.ts';

/** Seed 003's OAuth scopes, kept verbatim. */
export const SEED_SCOPES = [
  'read:solutions',
  'write:solutions',
  'read:components',
  'write:components',
  'read:agents',
  'execute:agents',
  'read:workflows',
  'execute:workflows',
  'read:connectors',
  'write:connectors',
  'read:datasets',
  'write:datasets',
  'admin:org',
] as const;

/** Orgplane's own resources. */
export const PLATFORM_PERMISSIONS = [
  'read:org',
  'write:org',
  'delete:org',
  'archive:org',
  'read:members',
  'write:members',
  'read:workspaces',
  'write:workspaces',
  'delete:workspaces',
  'read:environments',
  'write:environments',
  'read:api_keys',
  'write:api_keys',
  'read:hosted_services',
  'write:hosted_services',
  'mint:service_tokens',
  'read:oauth_clients',
  'write:oauth_clients',
  'read:deployments',
  'write:deployments',
  'write:deploy_tokens',
  'read:audit_logs',
  'read:billing',
  'write:billing',
] as const;

/** Held by no org role: only platform administrators (ORGPLANE_PLATFORM_ADMIN_EMAILS) act on these. */
export const PLATFORM_ADMIN_PERMISSIONS = ['suspend:org'] as const;

export const PERMISSIONS = [...PLATFORM_PERMISSIONS, ...SEED_SCOPES, ...PLATFORM_ADMIN_PERMISSIONS] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** What API keys may be granted: everything an org role can hold (never platform-admin powers). */
export const GRANTABLE_SCOPES: readonly Permission[] = [...PLATFORM_PERMISSIONS, ...SEED_SCOPES];

export function isGrantable(scope: string): scope is Permission {
  return (GRANTABLE_SCOPES as readonly string[]).includes(scope);
}

export const ROLES: readonly OrgRole[] = ['owner', 'admin', 'member', 'viewer'];

// Viewer: "read-only access to dashboards and logs; no key access".
const VIEWER: Permission[] = [
  'read:org',
  'read:members',
  'read:workspaces',
  'read:environments',
  'read:hosted_services',
  'read:deployments',
  'read:audit_logs',
  'read:solutions',
  'read:components',
  'read:agents',
  'read:workflows',
  'read:connectors',
  'read:datasets',
];

// Member: "use existing projects and keys; cannot create or delete projects".
const MEMBER: Permission[] = [
  ...VIEWER,
  'read:api_keys',
  'mint:service_tokens',
  'write:deployments',
  'write:solutions',
  'write:components',
  'execute:agents',
  'execute:workflows',
  'write:connectors',
  'write:datasets',
];

// Admin: "manage projects, keys and members; cannot delete the org or change billing".
const ADMIN: Permission[] = [
  ...MEMBER,
  'write:org',
  'write:members',
  'write:workspaces',
  'delete:workspaces',
  'write:environments',
  'write:api_keys',
  'write:hosted_services',
  'read:oauth_clients',
  'write:oauth_clients',
  'write:deploy_tokens',
  'read:billing',
  'admin:org',
];

// Owner: "full control; can delete the org, manage billing and transfer ownership".
const OWNER: Permission[] = [...ADMIN, 'delete:org', 'archive:org', 'write:billing'];

const BY_ROLE: Record<OrgRole, ReadonlySet<Permission>> = {
  owner: new Set(OWNER),
  admin: new Set(ADMIN),
  member: new Set(MEMBER),
  viewer: new Set(VIEWER),
};

export function permissionsOf(role: OrgRole): ReadonlySet<Permission> {
  return BY_ROLE[role];
}

export function roleHas(role: OrgRole, permission: Permission): boolean {
  return BY_ROLE[role].has(permission);
}

/** Roles ordered by power, so "may this actor grant that role" is a comparison. */
export function roleRank(role: OrgRole): number {
  return ROLES.length - ROLES.indexOf(role);
}
