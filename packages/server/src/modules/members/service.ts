// Org members: list, role change, removal. Only owners touch the owner role, and the last owner
// can be neither demoted nor removed; the org row lock makes that rule hold under concurrency.
import type { AppDeps } from '../../app-deps.ts';
import type { OrgRole } from '../../db/schema.ts';
import { type Page, toPage } from '../../http/pagination.ts';
import type { Actor } from '../../http/principal.ts';
import { auditActorOf, recordAudit } from '../audit/service.ts';
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

export async function changeMemberRole(
  deps: AppDeps,
  actor: Actor,
  orgId: string,
  userId: string,
  role: OrgRole,
) {
  return deps.db.transaction().execute(async (trx) => {
    await lockOrg(trx, orgId);
    const member = await findMember(trx, orgId, userId);
    if (!member) throw memberErrors.notFound();
    const actorIsOwner = actor.principal.role === 'owner';
    if ((member.role === 'owner' || role === 'owner') && !actorIsOwner) throw memberErrors.ownersOnly();
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
}

export async function removeMember(deps: AppDeps, actor: Actor, orgId: string, userId: string) {
  await deps.db.transaction().execute(async (trx) => {
    await lockOrg(trx, orgId);
    const member = await findMember(trx, orgId, userId);
    if (!member) throw memberErrors.notFound();
    if (member.role === 'owner' && actor.principal.role !== 'owner') throw memberErrors.ownersOnly();
    if (member.role === 'owner' && (await countOwners(trx, orgId)) <= 1) throw memberErrors.lastOwner();
    await deleteMembership(trx, orgId, userId);
    await revokeSessionsInOrg(trx, orgId, userId);
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'member.removed',
      targetType: 'user',
      targetId: userId,
      metadata: { email: member.email, role: member.role },
    });
  });
}
