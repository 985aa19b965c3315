// Wires the deps from config: database (migrated), master key, signing keys, limiter. Shared by
// main.ts and the tests, so tests run exactly what production runs.
import path from 'node:path';
import { type BuildOptions, buildApp } from './app.ts';
import type { AppDeps } from './app-deps.ts';
import { type Config, ConfigError } from './config.ts';
import { type DatabaseOptions, type OpenDatabase, openDatabase } from './db/database.ts';
import { LastUsedRecorder } from './db/last-used.ts';
import { sweepExpiredOauthModels } from './modules/oauth/repo.ts';
import type { ChangeFeed } from './platform/change-feed.ts';
import { loadMasterKey, MasterKeyMismatchError } from './platform/envelope.ts';
import { RateLimiter } from './platform/rate-limiter.ts';
import { SigningKeyring } from './platform/signing-keys.ts';
import { CacheRegistry } from './platform/tagged-cache.ts';
import { Vault } from './platform/vault.ts';

export interface Orgplane {
  app: Awaited<ReturnType<typeof buildApp>>;
  deps: AppDeps;
  close(): Promise<void>;
}

/** The longest access token POST /auth/token issues (ttl_minutes ≤ 1440). */
const MAX_EXCHANGED_TOKEN_SECONDS = 1440 * 60;

/** How often each node writes the last-used times it has gathered (see db/last-used.ts). */
const LAST_USED_FLUSH_MS = 5_000;

export async function startOrgplane(
  config: Config,
  /** Where to open the database, or one being opened already (main.ts starts it early). */
  database: DatabaseOptions | Promise<OpenDatabase>,
  options: BuildOptions = {},
): Promise<Orgplane> {
  const opening = database instanceof Promise ? database : openDatabase(database);
  let masterKey: ReturnType<typeof loadMasterKey>;
  try {
    masterKey = loadMasterKey(config.masterKey, config.dataDir);
  } catch (error) {
    await opening.then((opened) => opened.close()).catch(() => undefined);
    throw error;
  }
  const opened = await opening;
  let feed: ChangeFeed | undefined;
  try {
    await opened.migrate();
    // Retired keys stay published as long as the longest token they may have signed can live: a
    // session token (ORGPLANE_ACCESS_TOKEN_TTL_SECONDS) or an exchanged one (up to 1440 minutes),
    // plus five minutes for clock skew.
    const retiredKeyGrace = Math.max(config.accessTokenTtlSeconds, MAX_EXCHANGED_TOKEN_SECONDS) + 300;
    const keys = new SigningKeyring(opened.db, masterKey, config.publicUrl, retiredKeyGrace);
    await keys.init().catch((error) => {
      throw error instanceof MasterKeyMismatchError ? masterKeyMismatch(config, error) : error;
    });
    const pending = new Set<Promise<unknown>>();
    let log:
      | { error(details: object, message: string): void; warn(details: object, message: string): void }
      | undefined;
    const caches = new CacheRegistry();
    feed = await opened.changeFeed((err) =>
      log?.warn({ err }, 'change feed lost its connection; credential caches paused until it is back'),
    );
    feed.subscribe(caches);
    // A rotation on another node: start signing with (and publishing) its new key at once.
    feed.subscribe({
      onChange: (tag) => {
        if (tag === 'signing_keys')
          keys.refresh().catch((err) => log?.warn({ err }, 'signing-key refresh failed'));
      },
      onHearing: () => undefined,
    });
    const lastUsed = new LastUsedRecorder(opened.db);
    const deps: AppDeps = {
      config,
      db: opened.db,
      vault: new Vault(masterKey),
      keys,
      limiter: new RateLimiter(opened.db),
      caches,
      lastUsed,
      background: (what, task) => {
        const tracked = task
          .catch((err) => log?.error({ err }, `${what} failed`))
          .finally(() => pending.delete(tracked));
        pending.add(tracked);
      },
      isReady: async () => {
        try {
          return (await opened.pending()).length === 0;
        } catch {
          return false;
        }
      },
    };
    const app = await buildApp(deps, options);
    log = app.log;
    // Housekeeping every minute: drop expired throttling windows and OAuth rows; pick up signing
    // keys rotated by another node (its tokens keep verifying meanwhile through the unknown-kid
    // reload).
    const sweeper = setInterval(() => {
      deps.limiter.sweep().catch((err) => app.log.warn({ err }, 'rate-limit sweep failed'));
      keys.refresh().catch((err) => app.log.warn({ err }, 'signing-key refresh failed'));
      sweepExpiredOauthModels(deps.db).catch((err) => app.log.warn({ err }, 'OAuth sweep failed'));
    }, 60_000);
    sweeper.unref();
    const usageFlusher = setInterval(() => {
      lastUsed.flush().catch((err) => app.log.warn({ err }, 'writing last_used_at failed'));
    }, LAST_USED_FLUSH_MS);
    usageFlusher.unref();
    return {
      app,
      deps,
      close: async () => {
        clearInterval(sweeper);
        clearInterval(usageFlusher);
        await app.close();
        await Promise.allSettled([...pending]);
        await lastUsed.flush().catch((err) => app.log.warn({ err }, 'writing last_used_at failed'));
        await feed?.close();
        await opened.close();
      },
    };
  } catch (error) {
    await feed?.close().catch(() => undefined);
    await opened.close().catch(() => undefined);
    throw error;
  }
}

/** What an operator reads when the configured master key is not the one the data was sealed with. */
function masterKeyMismatch(config: Config, error: MasterKeyMismatchError): ConfigError {
  const given = config.masterKey
    ? 'ORGPLANE_MASTER_KEY'
    : `the master key in ${path.join(config.dataDir, 'master.key')}`;
  const recover = config.masterKey
    ? config.databaseUrl
      ? 'set ORGPLANE_MASTER_KEY to that original key'
      : `set ORGPLANE_MASTER_KEY to that original key, or unset it if this data directory's own ${path.join(config.dataDir, 'master.key')} is the original`
    : `put the original key back into ${path.join(config.dataDir, 'master.key')} (from your backup) or set ORGPLANE_MASTER_KEY to it`;
  return new ConfigError(
    `${given} (fingerprint ${error.configured}) does not match the master key this data was sealed with (fingerprint ${error.sealedWith}). ` +
      `Nothing was changed. Start again with the original key: ${recover}. ` +
      'Without it the encrypted data (signing keys, org data keys) cannot be opened; see "Operations" in the README.',
  );
}
