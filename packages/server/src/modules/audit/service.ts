// The append-only audit log. `record` is always called with the transaction of the change it
// describes, so a change and its audit entry commit or roll back together.
import type { Executor } from '../../db/schema.ts';
import { type Page, toPage } from '../../http/pagination.ts';
import type { Actor, RequestOrigin } from '../../http/principal.ts';
import { newId } from '../../platform/ids.ts';
import { auditErrors } from './errors.ts';
import { type AuditFilter, type AuditRow, insertAudit, listAudit } from './repo.ts';

/**
 * Who did it and from where. Users act through requests (signed in, or through an API key or deploy
 * token they created: then the key is the actor and the email is its creator's); the system acts on
 * its own.
 */
export interface AuditActor extends RequestOrigin {
  type: 'user' | 'api_key' | 'deploy_token' | 'system';
  id: string | null;
  email: string | null;
}

export interface AuditEntry {
  action: string;
  targetType?: string;
  targetId?: string;
  metadata?: Record<string, unknown>;
}

export function auditActorOf(actor: Actor): AuditActor {
  const { principal } = actor;
  return {
    type: principal.kind,
    id:
      principal.kind === 'user'
        ? principal.userId
        : (principal.credential.api_key_id ?? principal.credential.id),
    email: principal.email,
    ip: actor.ip,
    requestId: actor.requestId,
    userAgent: actor.userAgent,
  };
}

export function userActor(origin: RequestOrigin, user: { id: string; email: string }): AuditActor {
  return { ...origin, type: 'user', id: user.id, email: user.email };
}

export async function recordAudit(
  db: Executor,
  orgId: string,
  actor: AuditActor,
  entry: AuditEntry,
): Promise<void> {
  await insertAudit(db, {
    org_id: orgId,
    id: newId(),
    actor_type: actor.type,
    actor_id: actor.id,
    actor_email: actor.email,
    action: entry.action,
    target_type: entry.targetType ?? null,
    target_id: entry.targetId ?? null,
    ip: actor.ip,
    request_id: actor.requestId,
    user_agent: actor.userAgent,
    metadata: JSON.stringify(entry.metadata ?? {}),
  });
}

/** One entry per id (e.g. every token a revocation cascaded to), in the caller's transaction. */
export async function recordAuditEach(
  db: Executor,
  orgId: string,
  actor: AuditActor,
  ids: readonly string[],
  entryFor: (id: string) => AuditEntry,
): Promise<void> {
  for (const id of ids) await recordAudit(db, orgId, actor, entryFor(id));
}

export function presentAudit(row: AuditRow) {
  return {
    id: row.id,
    occurred_at: row.occurred_at.toISOString(),
    action: row.action,
    actor: { type: row.actor_type, id: row.actor_id, email: row.actor_email },
    target: row.target_type ? { type: row.target_type, id: row.target_id } : null,
    ip: row.ip,
    request_id: row.request_id,
    user_agent: row.user_agent,
    metadata: row.metadata,
  };
}

// RFC 3339 admits instants JavaScript and PostgreSQL disagree on (leap seconds, offsets that push
// 9999-12-31 into year 10000): turn the filter into one instant both understand, or refuse it.
function instant(value: string | undefined, field: 'since' | 'until'): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value.replace(/:60(?=(\.\d+)?(Z|[+-]\d\d:\d\d)$)/i, ':59'));
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime()) || year < 1 || year > 9999) throw auditErrors.invalidTime(field);
  return date;
}

export type AuditQuery = Omit<AuditFilter, 'since' | 'until'> & { since?: string; until?: string };

export async function listAuditLogs(db: Executor, orgId: string, filter: AuditQuery, page: Page) {
  const range = { since: instant(filter.since, 'since'), until: instant(filter.until, 'until') };
  return toPage(await listAudit(db, orgId, { ...filter, ...range }, page), page, presentAudit);
}
