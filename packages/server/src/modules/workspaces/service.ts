// Workspaces partition an org's resources. Deleting one deletes its environments with it.
import type { AppDeps } from '../../app-deps.ts';
import type { Executor } from '../../db/schema.ts';
import { type Page, toPage } from '../../http/pagination.ts';
import type { Actor } from '../../http/principal.ts';
import { newId } from '../../platform/ids.ts';
import { auditActorOf, recordAudit } from '../audit/service.ts';
import { workspaceErrors } from './errors.ts';
import {
  deleteWorkspace,
  findWorkspace,
  insertWorkspace,
  listWorkspaces,
  updateWorkspace,
  type WorkspaceRow,
} from './repo.ts';

export function presentWorkspace(row: WorkspaceRow) {
  return {
    id: row.id,
    org_id: row.org_id,
    name: row.name,
    description: row.description,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export async function createWorkspace(
  deps: AppDeps,
  actor: Actor,
  orgId: string,
  input: { name: string; description?: string },
) {
  return deps.db.transaction().execute(async (trx) => {
    const row = await insertWorkspace(trx, orgId, {
      id: newId(),
      name: input.name.trim(),
      description: input.description ?? null,
    });
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'workspace.created',
      targetType: 'workspace',
      targetId: row.id,
      metadata: { name: row.name },
    });
    return presentWorkspace(row);
  });
}

export async function listOrgWorkspaces(deps: AppDeps, orgId: string, page: Page) {
  return toPage(await listWorkspaces(deps.db, orgId, page), page, presentWorkspace);
}

/** The workspace within the org, or 404 — other modules call this to check a parent exists. */
export async function requireWorkspace(db: Executor, orgId: string, workspaceId: string) {
  const row = await findWorkspace(db, orgId, workspaceId);
  if (!row) throw workspaceErrors.notFound();
  return row;
}

export async function getWorkspace(deps: AppDeps, orgId: string, workspaceId: string) {
  return presentWorkspace(await requireWorkspace(deps.db, orgId, workspaceId));
}

export async function patchWorkspace(
  deps: AppDeps,
  actor: Actor,
  orgId: string,
  workspaceId: string,
  fields: { name?: string; description?: string | null },
) {
  return deps.db.transaction().execute(async (trx) => {
    const row = await updateWorkspace(trx, orgId, workspaceId, {
      ...fields,
      ...(fields.name !== undefined ? { name: fields.name.trim() } : {}),
    });
    if (!row) throw workspaceErrors.notFound();
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'workspace.updated',
      targetType: 'workspace',
      targetId: workspaceId,
      metadata: { changed: Object.keys(fields) },
    });
    return presentWorkspace(row);
  });
}

export async function removeWorkspace(deps: AppDeps, actor: Actor, orgId: string, workspaceId: string) {
  await deps.db.transaction().execute(async (trx) => {
    if (!(await deleteWorkspace(trx, orgId, workspaceId))) throw workspaceErrors.notFound();
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'workspace.deleted',
      targetType: 'workspace',
      targetId: workspaceId,
    });
  });
  // Keys restricted to it went with it (cascade): drop this org's cached credentials on this node
  // now; other nodes hear each deleted key from the database.
  deps.caches.forget([`org:${orgId}`]);
}
