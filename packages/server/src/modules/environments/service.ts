// Environments: deployment targets inside a workspace. Cloud credentials are write-only: sealed with
// the org's data key (bound to this environment by AAD) and never returned — only whether they exist.
import type { AppDeps } from '../../app-deps.ts';
import type { Executor } from '../../db/schema.ts';
import { type Page, toPage } from '../../http/pagination.ts';
import type { Actor } from '../../http/principal.ts';
import { newId } from '../../platform/ids.ts';
import { auditActorOf, recordAudit } from '../audit/service.ts';
import { requireWorkspace } from '../workspaces/service.ts';
import { environmentErrors } from './errors.ts';
import {
  deleteEnvironment,
  type EnvironmentRow,
  type EnvironmentWrite,
  findEnvironment,
  insertEnvironment,
  listEnvironments,
  slugTaken,
  updateEnvironment,
} from './repo.ts';

export interface EnvironmentInput {
  name: string;
  slug: string;
  tier: EnvironmentRow['tier'];
  deployment_host: EnvironmentRow['deployment_host'];
  execution_backend?: Record<string, unknown>;
  cloud_credentials?: Record<string, unknown> | null;
}

export function presentEnvironment(row: EnvironmentRow) {
  return {
    id: row.id,
    org_id: row.org_id,
    workspace_id: row.workspace_id,
    name: row.name,
    slug: row.slug,
    tier: row.tier,
    deployment_host: row.deployment_host,
    execution_backend: row.execution_backend,
    has_cloud_credentials: row.cloud_credentials_sealed !== null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

const credentialContext = (envId: string) => `environment:${envId}:cloud_credentials`;

async function sealCredentials(
  deps: AppDeps,
  trx: Executor,
  orgId: string,
  envId: string,
  value: Record<string, unknown> | null,
) {
  return value === null ? null : deps.vault.seal(trx, orgId, JSON.stringify(value), credentialContext(envId));
}

/** The decrypted cloud credentials, for the deployment machinery (never for an API response). */
export async function readCloudCredentials(deps: AppDeps, orgId: string, workspaceId: string, envId: string) {
  const row = await findEnvironment(deps.db, orgId, workspaceId, envId);
  if (!row) throw environmentErrors.notFound();
  if (!row.cloud_credentials_sealed) return null;
  return JSON.parse(
    await deps.vault.open(deps.db, orgId, row.cloud_credentials_sealed, credentialContext(envId)),
  );
}

export async function createEnvironment(
  deps: AppDeps,
  actor: Actor,
  orgId: string,
  workspaceId: string,
  input: EnvironmentInput,
) {
  return deps.db.transaction().execute(async (trx) => {
    await requireWorkspace(trx, orgId, workspaceId);
    const id = newId();
    const row = await insertEnvironment(trx, orgId, workspaceId, {
      id,
      name: input.name.trim(),
      slug: input.slug,
      tier: input.tier,
      deployment_host: input.deployment_host,
      execution_backend: JSON.stringify(input.execution_backend ?? {}),
      cloud_credentials_sealed: await sealCredentials(deps, trx, orgId, id, input.cloud_credentials ?? null),
    });
    if (!row) throw environmentErrors.slugTaken(input.slug);
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'environment.created',
      targetType: 'environment',
      targetId: id,
      metadata: {
        workspace_id: workspaceId,
        slug: row.slug,
        tier: row.tier,
        cloud_credentials_set: row.cloud_credentials_sealed !== null,
      },
    });
    return presentEnvironment(row);
  });
}

export async function listWorkspaceEnvironments(
  deps: AppDeps,
  orgId: string,
  workspaceId: string,
  page: Page,
) {
  await requireWorkspace(deps.db, orgId, workspaceId);
  return toPage(await listEnvironments(deps.db, orgId, workspaceId, page), page, presentEnvironment);
}

/** The environment within the org and workspace, or 404 — other modules call this to check a parent exists. */
export async function requireEnvironment(db: Executor, orgId: string, workspaceId: string, envId: string) {
  const row = await findEnvironment(db, orgId, workspaceId, envId);
  if (!row) throw environmentErrors.notFound();
  return row;
}

export async function getEnvironment(deps: AppDeps, orgId: string, workspaceId: string, envId: string) {
  return presentEnvironment(await requireEnvironment(deps.db, orgId, workspaceId, envId));
}

export async function patchEnvironment(
  deps: AppDeps,
  actor: Actor,
  orgId: string,
  workspaceId: string,
  envId: string,
  input: Partial<EnvironmentInput>,
) {
  return deps.db.transaction().execute(async (trx) => {
    if (!(await findEnvironment(trx, orgId, workspaceId, envId))) throw environmentErrors.notFound();
    if (input.slug && (await slugTaken(trx, orgId, workspaceId, input.slug, envId))) {
      throw environmentErrors.slugTaken(input.slug);
    }
    const { cloud_credentials, execution_backend, name, ...rest } = input;
    const fields: EnvironmentWrite = { ...rest };
    if (name !== undefined) fields.name = name.trim();
    if (execution_backend !== undefined) fields.execution_backend = JSON.stringify(execution_backend);
    if (cloud_credentials !== undefined) {
      fields.cloud_credentials_sealed = await sealCredentials(deps, trx, orgId, envId, cloud_credentials);
    }
    const row = await updateEnvironment(trx, orgId, workspaceId, envId, fields);
    if (!row) throw environmentErrors.notFound();
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'environment.updated',
      targetType: 'environment',
      targetId: envId,
      metadata: { workspace_id: workspaceId, changed: Object.keys(input) },
    });
    return presentEnvironment(row);
  });
}

export async function removeEnvironment(
  deps: AppDeps,
  actor: Actor,
  orgId: string,
  workspaceId: string,
  envId: string,
) {
  await deps.db.transaction().execute(async (trx) => {
    if (!(await deleteEnvironment(trx, orgId, workspaceId, envId))) throw environmentErrors.notFound();
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'environment.deleted',
      targetType: 'environment',
      targetId: envId,
      metadata: { workspace_id: workspaceId },
    });
  });
  // Its deploy tokens went with it (cascade): drop this org's cached credentials on this node now;
  // other nodes hear each deleted token from the database.
  deps.caches.forget([`org:${orgId}`]);
}
