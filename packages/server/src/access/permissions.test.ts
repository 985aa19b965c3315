import { describe, expect, it } from 'vitest';
import type { OrgRole } from '../db/schema.ts';
import {
  PERMISSIONS,
  type Permission,
  PLATFORM_ADMIN_PERMISSIONS,
  permissionsOf,
  ROLES,
  roleHas,
  roleRank,
  SEED_SCOPES,
} from './permissions.ts';

const HIERARCHY: OrgRole[] = ['viewer', 'member', 'admin', 'owner'];

describe('roles', () => {
  it('are the four roles of seed 002', () => {
    expect([...ROLES].sort()).toEqual(['admin', 'member', 'owner', 'viewer']);
  });

  it('form a strict hierarchy: viewer ⊂ member ⊂ admin ⊂ owner', () => {
    for (let i = 0; i < HIERARCHY.length - 1; i++) {
      const lower = permissionsOf(HIERARCHY[i]!);
      const higher = permissionsOf(HIERARCHY[i + 1]!);
      for (const permission of lower)
        expect(higher.has(permission), `${HIERARCHY[i + 1]} ${permission}`).toBe(true);
      expect(higher.size).toBeGreaterThan(lower.size);
    }
  });

  it('rank by power', () => {
    expect(roleRank('owner')).toBeGreaterThan(roleRank('admin'));
    expect(roleRank('admin')).toBeGreaterThan(roleRank('member'));
    expect(roleRank('member')).toBeGreaterThan(roleRank('viewer'));
    expect(roleRank('viewer')).toBeGreaterThan(0);
  });

  it('hold only catalogued permissions', () => {
    const catalogue = new Set<string>(PERMISSIONS);
    for (const role of ROLES)
      for (const permission of permissionsOf(role)) expect(catalogue.has(permission)).toBe(true);
  });

  it('roleHas agrees with permissionsOf', () => {
    for (const role of ROLES) {
      for (const permission of PERMISSIONS) {
        expect(roleHas(role, permission)).toBe(permissionsOf(role).has(permission));
      }
    }
  });
});

describe('viewer', () => {
  const viewer = permissionsOf('viewer');

  it('is read-only: no write, delete, execute or admin permission', () => {
    for (const permission of viewer) expect(permission).toMatch(/^read:/);
    expect([...viewer].filter((p) => p.startsWith('write:'))).toEqual([]);
  });

  it('has no access to API keys', () => {
    expect(roleHas('viewer', 'read:api_keys')).toBe(false);
    expect(roleHas('viewer', 'write:api_keys')).toBe(false);
  });

  it('can read the org, its members, workspaces, environments and audit log', () => {
    for (const permission of [
      'read:org',
      'read:members',
      'read:workspaces',
      'read:environments',
      'read:audit_logs',
    ] as const) {
      expect(roleHas('viewer', permission)).toBe(true);
    }
    expect(roleHas('viewer', 'read:billing')).toBe(false);
  });
});

describe('member', () => {
  it('uses keys and projects but cannot manage them', () => {
    expect(roleHas('member', 'read:api_keys')).toBe(true);
    expect(roleHas('member', 'execute:agents')).toBe(true);
    expect(roleHas('member', 'write:api_keys')).toBe(false);
    expect(roleHas('member', 'write:workspaces')).toBe(false);
    expect(roleHas('member', 'delete:workspaces')).toBe(false);
    expect(roleHas('member', 'write:members')).toBe(false);
    expect(roleHas('member', 'admin:org')).toBe(false);
  });
});

describe('admin', () => {
  it('manages projects, keys and members', () => {
    for (const permission of [
      'write:workspaces',
      'delete:workspaces',
      'write:api_keys',
      'write:members',
      'write:org',
      'admin:org',
    ] as const) {
      expect(roleHas('admin', permission)).toBe(true);
    }
  });

  it('cannot delete or archive the org, nor change billing', () => {
    expect(roleHas('admin', 'delete:org')).toBe(false);
    expect(roleHas('admin', 'archive:org')).toBe(false);
    expect(roleHas('admin', 'write:billing')).toBe(false);
  });
});

describe('owner', () => {
  it('holds every org permission', () => {
    const orgPermissions = PERMISSIONS.filter(
      (p) => !(PLATFORM_ADMIN_PERMISSIONS as readonly string[]).includes(p),
    );
    expect([...permissionsOf('owner')].sort()).toEqual([...orgPermissions].sort());
  });
});

describe('the catalogue', () => {
  it('holds no role suspend:org (platform administrators only)', () => {
    for (const role of ROLES) expect(roleHas(role, 'suspend:org')).toBe(false);
    expect(PERMISSIONS).toContain('suspend:org');
  });

  it('contains all 13 OAuth scopes of seed 003, verbatim', () => {
    const seed003: Permission[] = [
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
    ];
    expect(seed003).toHaveLength(13);
    expect([...SEED_SCOPES].sort()).toEqual([...seed003].sort());
    for (const scope of seed003) expect(PERMISSIONS).toContain(scope);
  });

  it('names every permission verb:resource, once', () => {
    expect(new Set(PERMISSIONS).size).toBe(PERMISSIONS.length);
    for (const permission of PERMISSIONS) expect(permission).toMatch(/^[a-z]+:[a-z_]+$/);
  });
});
