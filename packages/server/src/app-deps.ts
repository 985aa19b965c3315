// What the app is built from: created once in main.ts (or a test), handed to every module.
import type { Config } from './config.ts';
import type { LastUsedRecorder } from './db/last-used.ts';
import type { Db } from './db/schema.ts';
import type { RateLimiter } from './platform/rate-limiter.ts';
import type { SigningKeyring } from './platform/signing-keys.ts';
import type { CacheRegistry } from './platform/tagged-cache.ts';
import type { Vault } from './platform/vault.ts';

export interface AppDeps {
  config: Config;
  db: Db;
  vault: Vault;
  keys: SigningKeyring;
  limiter: RateLimiter;
  /**
   * Verified credentials, cached in process and dropped when the database announces a change
   * (every node) — services also call `caches.forget()` after committing a change to a credential,
   * so this node never serves the old state even for the milliseconds the notification takes.
   */
  caches: CacheRegistry;
  lastUsed: LastUsedRecorder;
  /**
   * Runs work that must not delay the response (e.g. auditing a failed login, whose extra write
   * would otherwise tell an attacker the account exists). Failures are logged; shutdown waits.
   */
  background(what: string, task: Promise<unknown>): void;
  /** True once migrations are applied and the database answers (drives /readyz). */
  isReady(): Promise<boolean>;
}
