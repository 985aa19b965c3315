// Hosted services (seed 003 HSL) are a workspace resource; each can mint `fl_hsl_` service tokens
// bound to it, with custom claims and a TTL. A hosted service verifies a token it receives by
// introspection (POST /api/v1/auth/introspect).
import type { AppDeps } from '../../app-deps.ts';
import { findLiveServiceToken, type ServiceTokenRecordRow } from './repo.ts';

// ── verification ─────────────────────────────────────────────────────────────────────────────

const CACHE = { name: 'service-tokens', maxEntries: 100_000, maxAgeMs: 10 * 60_000 };

/** A live service token by its secret's hash; cached, dropped on every node when it changes. */
export async function serviceTokenRecord(deps: AppDeps, hash: string): Promise<ServiceTokenRecordRow | null> {
  const cache = deps.caches.named<ServiceTokenRecordRow>(CACHE.name, CACHE.maxEntries, CACHE.maxAgeMs);
  const record = await cache.getOrLoad(`h:${hash}`, async () => {
    const row = await findLiveServiceToken(deps.db, hash);
    return row ? { value: row, tags: [`key:${row.id}`, `org:${row.org_id}`] } : null;
  });
  if (!record || record.expires_at.getTime() <= Date.now()) return null;
  return record;
}
