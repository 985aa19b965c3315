// Org members: list, role change, removal. Only owners touch the owner role, and the last owner
// can be neither demoted nor removed; the org row lock makes that rule hold under concurrency.

import { roleHas } from '../../access/permissions.ts';
import type { AppDeps } from '../../app-deps.ts';
import type { Executor, OrgRole } from '../../db/schema.ts';
import { type Page, toPage } from '../../http/pagination.ts';
import type { Actor } from '../../http/principal.ts';
import { revokeKeysCreatedBy } from '../api-keys/service.ts';
import { auditActorOf, recordAudit } from '../audit/service.ts';
import { revokeDeployTokensMadeByActor } from '../deployments/service.ts';
import { memberErrors } from './errors.ts';
import {
  countOwners,
  deleteMembership,
  findMember,
  listMembers,
  lockOrg,
  type MemberRow,
  revokeSessionsInOrg,
  setRole,
} from './repo.ts';

export function presentMember(row: MemberRow) {
  return {
    user_id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    joined_at: row.created_at.toISOString(),
  };
}

export async function listOrgMembers(deps: AppDeps, orgId: string, page: Page) {
  return toPage(await listMembers(deps.db, orgId, page), page, presentMember);
}

export async function getOrgMember(deps: AppDeps, orgId: string, userId: string) {
  const member = await findMember(deps.db, orgId, userId);
  if (!member) throw memberErrors.notFound();
  return presentMember(member);
}

/**
 * Serialises membership changes in the org (row lock), then reads the caller's role as it is now:
 * a caller demoted or removed by a change that committed just before must not act on the old role.
 */
async function lockOrgAndReadActorRole(trx: Executor, orgId: string, actor: Actor): Promise<OrgRole> {
  await lockOrg(trx, orgId);
  const self = await findMember(trx, orgId, actor.principal.userId);
  if (!self) throw memberErrors.notFound();
  return self.role;
}

export async function changeMemberRole(
  deps: AppDeps,
  actor: Actor,
  orgId: string,
  userId: string,
  role: OrgRole,
) {
  const changed = await deps.db.transaction().execute(async (trx) => {
    const actorRole = await lockOrgAndReadActorRole(trx, orgId, actor);
    if (!roleHas(actorRole, 'write:members')) throw memberErrors.permissionDenied(actorRole);
    const member = await findMember(trx, orgId, userId);
    if (!member) throw memberErrors.notFound();
    if ((member.role === 'owner' || role === 'owner') && actorRole !== 'owner')
      throw memberErrors.ownersOnly();
    if (member.role === role) return presentMember(member);
    if (member.role === 'owner' && (await countOwners(trx, orgId)) <= 1) throw memberErrors.lastOwner();
    await setRole(trx, orgId, userId, role);
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'member.role_changed',
      targetType: 'user',
      targetId: userId,
      metadata: { from: member.role, to: role },
    });
    return presentMember({ ...member, role });
  });
  // Their sessions and keys now act with the new role on this node at once (others hear the commit).
  deps.caches.forget([`org:${orgId}`]);
  return changed;
}

export async function removeMember(deps: AppDeps, actor: Actor, orgId: string, userId: string) {
  await deps.db.transaction().execute(async (trx) => {
    const actorRole = await lockOrgAndReadActorRole(trx, orgId, actor);
    const leaving = userId.toLowerCase() === actor.principal.userId;
    // Anyone may leave; removing someone else needs write:members (and owner rights for an owner).
    if (!leaving && !roleHas(actorRole, 'write:members')) throw memberErrors.permissionDenied(actorRole);
    const member = await findMember(trx, orgId, userId);
    if (!member) throw memberErrors.notFound();
    if (member.role === 'owner' && !leaving && actorRole !== 'owner') throw memberErrors.ownersOnly();
    if (member.role === 'owner' && (await countOwners(trx, orgId)) <= 1) throw memberErrors.lastOwner();
    await deleteMembership(trx, orgId, userId);
    await revokeSessionsInOrg(trx, orgId, userId);
    // What they created to act for them stops for good (it would stop anyway without a membership,
    // but must not come back if they are invited again).
    await revokeKeysCreatedBy(trx, actor, orgId, member.id);
    await revokeDeployTokensMadeByActor(trx, actor, orgId, { userId: member.id });
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: leaving ? 'member.left' : 'member.removed',
      targetType: 'user',
      targetId: userId,
      metadata: { email: member.email, role: member.role },
    });
  });
  deps.caches.forget([`org:${orgId}`]);
}
