import { describe, expect, it } from 'vitest';
import {
  hashPassword,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  passwordProblem,
  verifyAgainstDecoy,
  verifyPassword,
} from './passwords.ts';

const GOOD = 'correct-horse-battery-staple-42';

describe('hashPassword / verifyPassword', () => {
  it('produces argon2id with m=19456, t=2, p=1 and a fresh salt each time', async () => {
    const [first, second] = await Promise.all([hashPassword(GOOD), hashPassword(GOOD)]);
    expect(first).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(second).not.toBe(first);
    expect(first).not.toContain(GOOD);
  });

  it('verifies the right password and refuses others', async () => {
    const stored = await hashPassword(GOOD);
    expect(await verifyPassword(stored, GOOD)).toBe(true);
    expect(await verifyPassword(stored, `${GOOD} `)).toBe(false);
    expect(await verifyPassword(stored, GOOD.toUpperCase())).toBe(false);
    expect(await verifyPassword(stored, GOOD.slice(0, -1))).toBe(false);
    expect(await verifyPassword(stored, '')).toBe(false);
  });

  it('handles non-ASCII passwords exactly', async () => {
    const password = 'pässwörd-✓-🔑-long-enough';
    const stored = await hashPassword(password);
    expect(await verifyPassword(stored, password)).toBe(true);
    expect(await verifyPassword(stored, password.normalize('NFD'))).toBe(false);
  });

  it('is false, not an error, for a malformed stored hash', async () => {
    expect(await verifyPassword('not-a-hash', GOOD)).toBe(false);
    expect(await verifyPassword('', GOOD)).toBe(false);
    expect(await verifyPassword('$argon2id$v=19$m=19456,t=2,p=1$broken', GOOD)).toBe(false);
  });

  it('verifyAgainstDecoy always answers false', async () => {
    expect(await verifyAgainstDecoy(GOOD)).toBe(false);
    expect(await verifyAgainstDecoy('orgplane-decoy-password-never-matches')).toBe(false);
  });

  it('does not block the event loop while hashing', async () => {
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now()), 2);
    const started = performance.now();
    try {
      const hashes = await Promise.all([1, 2, 3, 4].map((n) => hashPassword(`${GOOD}-${n}`)));
      expect(hashes).toHaveLength(4);
    } finally {
      clearInterval(timer);
    }
    const elapsed = performance.now() - started;
    // Four argon2id hashes take tens of milliseconds; a blocked loop would not tick meanwhile.
    const gaps = ticks.map((t, i) => t - (i === 0 ? started : ticks[i - 1]!));
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...gaps)).toBeLessThan(Math.max(elapsed * 0.75, 10));
  });
});

describe('passwordProblem', () => {
  it('accepts a reasonable password', () => {
    expect(passwordProblem(GOOD)).toBeNull();
    expect(passwordProblem(GOOD, 'ada@example.com')).toBeNull();
  });

  it('enforces 12..256 characters', () => {
    expect(PASSWORD_MIN_LENGTH).toBe(12);
    expect(PASSWORD_MAX_LENGTH).toBe(256);
    expect(passwordProblem('Xy7-kq2!pLm')).toMatch(/at least 12/); // 11
    expect(passwordProblem('Xy7-kq2!pLm9')).toBeNull(); // 12
    const max = `${'Ab1-'.repeat(63)}wxyz`;
    expect(max).toHaveLength(256);
    expect(passwordProblem(max)).toBeNull();
    expect(passwordProblem(`${max}!`)).toMatch(/at most 256/);
    expect(passwordProblem('')).toMatch(/at least 12/);
  });

  it('counts characters (code points), not bytes or UTF-16 units', () => {
    // 12 characters but 24 UTF-8 bytes: long enough.
    expect(passwordProblem('äöüßéèêëïîôû')).toBeNull();
    // 11 astral characters are 22 UTF-16 units and 44 bytes, yet still too short.
    const emoji = [...'😀😁😂🤣😃😄😅😆😉😊😋'];
    expect(emoji).toHaveLength(11);
    expect(passwordProblem(emoji.join(''))).toMatch(/at least 12/);
    expect(passwordProblem(`${emoji.join('')}😎`)).toBeNull();
    // 256 astral characters (512 UTF-16 units) are within the limit; 257 are not.
    const astral = Array.from({ length: 256 }, (_, i) => String.fromCodePoint(0x1f600 + (i % 64))).join('');
    expect(astral.length).toBe(512);
    expect(passwordProblem(astral)).toBeNull();
    expect(passwordProblem(`${astral}😀`)).toMatch(/at most 256/);
  });

  it('refuses common passwords, whatever their case', () => {
    for (const password of ['password1234', 'PASSWORD1234', 'qwerty123456', '1qaz2wsx3edc', 'LeaveMeAlone']) {
      expect(passwordProblem(password)).toMatch(/too common/);
    }
  });

  it('refuses one or two characters repeated', () => {
    expect(passwordProblem('aaaaaaaaaaaa')).toMatch(/repeated/);
    expect(passwordProblem('AaAaAaAaAaAa')).toMatch(/repeated/);
    expect(passwordProblem('abababababababab')).toMatch(/repeated/);
    expect(passwordProblem('🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑')).toMatch(/repeated/);
    expect(passwordProblem('abcabcabcabc')).toBeNull();
  });

  it('refuses the email address or its local part', () => {
    const email = 'Someone.Long@Example.com';
    expect(passwordProblem('someone.long@example.com', email)).toMatch(/email/);
    expect(passwordProblem('SOMEONE.LONG@EXAMPLE.COM', email)).toMatch(/email/);
    expect(passwordProblem('Someone.Long', email)).toMatch(/email/);
    expect(passwordProblem('someone.long!', email)).toBeNull();
    expect(passwordProblem('someone.long@example.com')).toBeNull();
  });
});
