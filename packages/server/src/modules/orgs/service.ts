// Organizations: creation (with the creator as owner and a fresh data key), settings, lifecycle.
import type { AppDeps } from '../../app-deps.ts';
import type { Executor, OrgStatus } from '../../db/schema.ts';
import { type Page, toPage } from '../../http/pagination.ts';
import type { Actor } from '../../http/principal.ts';
import { newId } from '../../platform/ids.ts';
import { type AuditActor, auditActorOf, recordAudit } from '../audit/service.ts';
import { orgErrors } from './errors.ts';
import {
  findOrg,
  insertMembership,
  insertOrg,
  listOrgsOfUser,
  type OrgFields,
  type OrgRow,
  purgeOrg,
  setOrgStatus,
  slugExists,
  updateOrg,
} from './repo.ts';
import { slugify, withSuffix } from './slug.ts';

export function presentOrg(org: OrgRow) {
  return {
    id: org.id,
    name: org.name,
    slug: org.slug,
    status: org.status,
    primary_domain: org.primary_domain,
    industry: org.industry,
    contact_email: org.contact_email,
    billing_email: org.billing_email,
    support_tier: org.support_tier,
    created_at: org.created_at.toISOString(),
    updated_at: org.updated_at.toISOString(),
  };
}

export type CreateOrgInput = OrgFields & {
  name: string;
  /** Base for a derived slug when none is requested (e.g. the person's name for a personal org). */
  slugHint?: string;
};

/**
 * Creates an org inside the caller's transaction: the org, its data key, the creator's owner
 * membership and the audit entry. A requested slug that is taken is a 409; a derived one gets a
 * random suffix instead.
 */
export async function createOrganization(
  deps: AppDeps,
  trx: Executor,
  creator: { id: string },
  actor: AuditActor,
  input: CreateOrgInput,
): Promise<OrgRow> {
  const { slugHint, ...fields } = input;
  const requested = fields.slug;
  const base = requested ?? slugify(slugHint ?? fields.name);
  let org: OrgRow | null = null;
  for (let attempt = 0; attempt < 5 && !org; attempt++) {
    const slug = attempt === 0 ? base : withSuffix(base);
    org = await insertOrg(trx, { ...fields, id: newId(), slug, created_by: creator.id });
    if (!org && requested) throw orgErrors.slugTaken(requested);
  }
  if (!org) throw orgErrors.slugTaken(base);
  await deps.vault.createOrgKey(trx, org.id);
  await insertMembership(trx, org.id, creator.id, 'owner');
  await recordAudit(trx, org.id, actor, {
    action: 'org.created',
    targetType: 'organization',
    targetId: org.id,
    metadata: { name: org.name, slug: org.slug },
  });
  return org;
}

/**
 * Commercial fields are not the tenant's to set: support_tier is the platform's (platform admins),
 * billing_email is the owners' (write:billing), as seed 002 keeps billing to owners.
 */
function checkCommercialFields(actor: Actor, changes: Record<string, unknown>) {
  const admin = actor.principal.isPlatformAdmin;
  if ('support_tier' in changes && !admin) throw orgErrors.supportTierIsPlatforms();
  if ('billing_email' in changes && !admin && !actor.principal.permissions.has('write:billing')) {
    throw orgErrors.billingIsOwners();
  }
}

/** Domains are case-insensitive: stored in lower case. */
function normalise<T extends OrgFields>(fields: T): T {
  return fields.primary_domain ? { ...fields, primary_domain: fields.primary_domain.toLowerCase() } : fields;
}

export async function createOrg(deps: AppDeps, actor: Actor, requested: CreateOrgInput) {
  if (requested.support_tier !== undefined && !actor.principal.isPlatformAdmin)
    throw orgErrors.supportTierIsPlatforms();
  const input = normalise(requested);
  const org = await deps.db
    .transaction()
    .execute((trx) =>
      createOrganization(deps, trx, { id: actor.principal.userId }, auditActorOf(actor), input),
    );
  return { ...presentOrg(org), role: 'owner' as const };
}

export async function listMyOrgs(deps: AppDeps, actor: Actor, page: Page) {
  const rows = await listOrgsOfUser(deps.db, actor.principal.userId, page);
  return toPage(rows, page, (row) => ({ ...presentOrg(row), role: row.role }));
}

export async function getOrg(deps: AppDeps, orgId: string) {
  const org = await findOrg(deps.db, orgId);
  if (!org) throw orgErrors.notFound();
  return presentOrg(org);
}

export async function updateOrgFields(deps: AppDeps, actor: Actor, orgId: string, requested: OrgFields) {
  const fields = normalise(requested);
  return deps.db.transaction().execute(async (trx) => {
    const before = await findOrg(trx, orgId, { lock: 'no-key-update' });
    if (!before) throw orgErrors.notFound();
    // Only fields that actually change need the right: a client may send back the whole org.
    const changes = changesOf(before, fields);
    checkCommercialFields(actor, changes);
    if (fields.slug && fields.slug !== before.slug && (await slugExists(trx, fields.slug))) {
      throw orgErrors.slugTaken(fields.slug);
    }
    const org = await updateOrg(trx, orgId, fields);
    if (!org) throw orgErrors.notFound();
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'org.updated',
      targetType: 'organization',
      targetId: orgId,
      metadata: {
        changed: Object.keys(fields),
        changes,
        by_platform_admin: actor.principal.isPlatformAdmin && actor.principal.orgId !== orgId,
      },
    });
    return presentOrg(org);
  });
}

/** Old and new value of each field the update actually changed (org fields hold no secrets). */
function changesOf(before: OrgRow, fields: OrgFields) {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const [key, to] of Object.entries(fields)) {
    const from = before[key as keyof OrgRow];
    if (from !== to) changes[key] = { from, to };
  }
  return changes;
}

type Lifecycle = 'archive' | 'suspend' | 'restore';
const TARGET: Record<Lifecycle, OrgStatus> = { archive: 'archived', suspend: 'suspended', restore: 'active' };
const PAST: Record<Lifecycle, string> = { archive: 'archived', suspend: 'suspended', restore: 'restored' };

/**
 * archive: owners, active → archived. suspend: platform admins, active|archived → suspended.
 * restore: owners bring back an archived org; only platform admins lift a suspension, which
 * returns the org to the status it had before (active or archived).
 */
export async function changeOrgStatus(deps: AppDeps, actor: Actor, orgId: string, action: Lifecycle) {
  const changed = await deps.db.transaction().execute(async (trx) => {
    const org = await findOrg(trx, orgId, { lock: 'no-key-update' });
    if (!org) throw orgErrors.notFound();
    const admin = actor.principal.isPlatformAdmin;
    if (action === 'suspend' && !admin) throw orgErrors.notPlatformAdmin();
    if (action === 'restore' && org.status === 'suspended' && !admin) throw orgErrors.suspended();
    const allowed =
      (action === 'archive' && org.status === 'active') ||
      (action === 'suspend' && org.status !== 'suspended') ||
      (action === 'restore' && org.status !== 'active');
    if (!allowed) throw orgErrors.invalidTransition(org.status, PAST[action]);
    // A suspension remembers what it interrupted, and lifting it returns there (an archived org
    // stays archived); archive and restore by owners never cross a suspension.
    const target =
      action === 'restore' && org.status === 'suspended' ? (org.suspended_from ?? 'active') : TARGET[action];
    const suspendedFrom = action === 'suspend' ? (org.status as 'active' | 'archived') : null;
    const updated = await setOrgStatus(trx, orgId, target, suspendedFrom);
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: `org.${PAST[action]}`,
      targetType: 'organization',
      targetId: orgId,
      metadata: {
        from: org.status,
        to: updated.status,
        by_platform_admin: admin && actor.principal.orgId !== orgId,
      },
    });
    return presentOrg(updated);
  });
  // Every credential of the org sees the new status on its next request (other nodes: the commit's notification).
  deps.caches.forget([`org:${orgId}`]);
  return changed;
}

/** Deletes the org and all it owns. Owners only; a suspended org cannot be deleted by its owners. */
export async function deleteOrg(deps: AppDeps, orgId: string) {
  await deps.db.transaction().execute(async (trx) => {
    const org = await findOrg(trx, orgId, { lock: 'update' });
    if (!org) throw orgErrors.notFound();
    if (org.status === 'suspended') throw orgErrors.suspended();
    await purgeOrg(trx, orgId);
  });
  deps.caches.forget([`org:${orgId}`]);
}
