// What the app is built from: created once in main.ts (or a test), handed to every module.
import type { Config } from './config.ts';
import type { Db } from './db/schema.ts';
import type { RateLimiter } from './platform/rate-limiter.ts';
import type { SigningKeyring } from './platform/signing-keys.ts';
import type { Vault } from './platform/vault.ts';

export interface AppDeps {
  config: Config;
  db: Db;
  vault: Vault;
  keys: SigningKeyring;
  limiter: RateLimiter;
  /**
   * Runs work that must not delay the response (e.g. auditing a failed login, whose extra write
   * would otherwise tell an attacker the account exists). Failures are logged; shutdown waits.
   */
  background(what: string, task: Promise<unknown>): void;
  /** True once migrations are applied and the database answers (drives /readyz). */
  isReady(): Promise<boolean>;
}
