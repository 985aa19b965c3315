// Passwords: argon2id with OWASP's minimum parameters (19 MiB, t=2, p=1). @node-rs/argon2 runs the
// hash on libuv's thread pool, so a login never blocks the event loop.
import { createRequire } from 'node:module';
import { type Algorithm, hash, verify } from '@node-rs/argon2';

// Algorithm.Argon2id is an ambient const enum (value 2), which isolated modules cannot read.
const ARGON2ID = { algorithm: 2 as Algorithm, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

const require = createRequire(import.meta.url);
let common: Set<string> | undefined;

/**
 * The common-password list, loaded on first use. The package holds every zxcvbn word list (~20 MB
 * in memory) and only this one is needed: keep it and let the module itself be collected.
 */
function commonPasswords(): Set<string> {
  if (!common) {
    const id = require.resolve('@zxcvbn-ts/language-common');
    const { dictionary } = require(id) as { dictionary: Record<string, string[]> };
    common = new Set((dictionary['passwords-common'] ?? []).map((word) => word.toLowerCase()));
    delete require.cache[id];
  }
  return common;
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2ID);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

// Verifying against this keeps an unknown email as slow as a wrong password (no user enumeration by timing).
let decoyHash: Promise<string> | undefined;
export async function verifyAgainstDecoy(password: string): Promise<false> {
  decoyHash ??= hashPassword('orgplane-decoy-password-never-matches');
  await verifyPassword(await decoyHash, password);
  return false;
}

/** Why a new password is refused, or null when it is acceptable. */
export function passwordProblem(password: string, email?: string): string | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH)
    return `Password must be at least ${PASSWORD_MIN_LENGTH} characters long.`;
  if (length > PASSWORD_MAX_LENGTH) return `Password must be at most ${PASSWORD_MAX_LENGTH} characters long.`;
  const lowered = password.toLowerCase();
  if (commonPasswords().has(lowered))
    return 'This password is too common; choose one that is not on lists of leaked passwords.';
  if (new Set(lowered).size <= 2) return 'Password must not be one or two characters repeated.';
  if (email) {
    const address = email.toLowerCase();
    if (lowered === address || lowered === address.split('@')[0])
      return 'Password must not be your email address.';
  }
  return null;
}
