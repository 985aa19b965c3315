// OAuth clients (issue 4): the applications an org registers with the OAuth 2.0 / OIDC server.
// A confidential client gets an `fl_ocs_` secret shown once (the database keeps its SHA-256); a
// public client has none and relies on PKCE. The secret is never a credential for this API.
import type { AppDeps } from '../../app-deps.ts';
import { type Page, toPage } from '../../http/pagination.ts';
import type { Actor } from '../../http/principal.ts';
import type { FieldError } from '../../http/problem.ts';
import { sha256Hex } from '../../platform/crypto.ts';
import { newId } from '../../platform/ids.ts';
import { mintToken, tokenStart } from '../../platform/token-format.ts';
import { auditActorOf, recordAudit } from '../audit/service.ts';
import { oauthClientErrors } from './errors.ts';
import {
  deleteOAuthClient,
  findOAuthClient,
  insertOAuthClient,
  listOAuthClients,
  type OAuthClientRow,
  type OAuthClientWrite,
  replaceOAuthClientSecret,
  updateOAuthClient,
} from './repo.ts';
import { redirectUriErrors, scopeErrors } from './validation.ts';

export type OAuthClientType = 'public' | 'confidential';

export interface CreateOAuthClientInput {
  name: string;
  description?: string;
  type: OAuthClientType;
  redirect_uris: string[];
  scopes: string[];
}

export interface UpdateOAuthClientInput {
  name?: string;
  description?: string | null;
  redirect_uris?: string[];
  scopes?: string[];
}

export function presentOAuthClient(row: OAuthClientRow) {
  return {
    client_id: row.id,
    org_id: row.org_id,
    name: row.name,
    description: row.description,
    type: row.type,
    redirect_uris: row.redirect_uris,
    scopes: row.scopes,
    secret_start: row.secret_start,
    created_by: { user_id: row.created_by_user_id },
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** Every rule the schema cannot express, reported together so all fields can be fixed at once. */
function checkRules(input: { redirect_uris?: string[]; scopes?: string[] }) {
  const errors: FieldError[] = [
    ...(input.redirect_uris ? redirectUriErrors(input.redirect_uris) : []),
    ...(input.scopes ? scopeErrors(input.scopes) : []),
  ];
  if (errors.length > 0) throw oauthClientErrors.invalidClient(errors);
}

/** A new client secret and what the database keeps of it. */
function newSecret() {
  const secret = mintToken('oauth_client_secret');
  return { secret, secret_hash: sha256Hex(secret), secret_start: tokenStart(secret) };
}

export async function createOAuthClient(
  deps: AppDeps,
  actor: Actor,
  orgId: string,
  input: CreateOAuthClientInput,
) {
  checkRules(input);
  const secret = input.type === 'confidential' ? newSecret() : null;
  return deps.db.transaction().execute(async (trx) => {
    const row = await insertOAuthClient(trx, {
      org_id: orgId,
      id: newId(),
      name: input.name.trim(),
      description: input.description ?? null,
      type: input.type,
      redirect_uris: input.redirect_uris,
      scopes: input.scopes,
      secret_hash: secret?.secret_hash ?? null,
      secret_start: secret?.secret_start ?? null,
      created_by_user_id: actor.principal.userId,
    });
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'oauth_client.created',
      targetType: 'oauth_client',
      targetId: row.id,
      metadata: {
        name: row.name,
        type: row.type,
        redirect_uris: row.redirect_uris,
        scopes: row.scopes,
      },
    });
    return { ...presentOAuthClient(row), ...(secret ? { client_secret: secret.secret } : {}) };
  });
}

export async function listOrgOAuthClients(deps: AppDeps, orgId: string, page: Page) {
  return toPage(await listOAuthClients(deps.db, orgId, page), page, presentOAuthClient);
}

export async function getOAuthClient(deps: AppDeps, orgId: string, clientId: string) {
  const row = await findOAuthClient(deps.db, orgId, clientId);
  if (!row) throw oauthClientErrors.notFound();
  return presentOAuthClient(row);
}

export async function patchOAuthClient(
  deps: AppDeps,
  actor: Actor,
  orgId: string,
  clientId: string,
  input: UpdateOAuthClientInput,
) {
  checkRules(input);
  return deps.db.transaction().execute(async (trx) => {
    const fields: OAuthClientWrite = { ...input };
    if (input.name !== undefined) fields.name = input.name.trim();
    const row = await updateOAuthClient(trx, orgId, clientId, fields);
    if (!row) throw oauthClientErrors.notFound();
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'oauth_client.updated',
      targetType: 'oauth_client',
      targetId: clientId,
      metadata: {
        changed: Object.keys(input),
        ...(input.redirect_uris ? { redirect_uris: row.redirect_uris } : {}),
        ...(input.scopes ? { scopes: row.scopes } : {}),
      },
    });
    return presentOAuthClient(row);
  });
}

/** Deletes the client for good; a client already gone (or another org's) is 404. */
export async function removeOAuthClient(deps: AppDeps, actor: Actor, orgId: string, clientId: string) {
  await deps.db.transaction().execute(async (trx) => {
    const row = await deleteOAuthClient(trx, orgId, clientId);
    if (!row) throw oauthClientErrors.notFound();
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'oauth_client.deleted',
      targetType: 'oauth_client',
      targetId: clientId,
      metadata: { name: row.name, type: row.type },
    });
  });
}

/** A new secret for a confidential client; the previous one stops at once. Public clients: 409. */
export async function rotateOAuthClientSecret(deps: AppDeps, actor: Actor, orgId: string, clientId: string) {
  const secret = newSecret();
  return deps.db.transaction().execute(async (trx) => {
    const rotated = await replaceOAuthClientSecret(trx, orgId, clientId, secret);
    if (!rotated) {
      if (await findOAuthClient(trx, orgId, clientId)) throw oauthClientErrors.publicClientHasNoSecret();
      throw oauthClientErrors.notFound();
    }
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'oauth_client.secret_rotated',
      targetType: 'oauth_client',
      targetId: clientId,
      metadata: { secret_start: secret.secret_start },
    });
    return { client_id: clientId, client_secret: secret.secret };
  });
}
