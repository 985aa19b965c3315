// Slugs: lowercase letters, digits and single hyphens; unique across the platform.
import { randomBytes } from 'node:crypto';

export const SLUG_PATTERN = '^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){1,62}$';

export function slugify(text: string): string {
  const base = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/g, '');
  return base.length >= 2 ? base : `org-${base}`.replace(/-+$/, '') || 'org';
}

/** The base with a short random suffix, for when the plain base is taken. */
export function withSuffix(base: string): string {
  const suffix = randomBytes(4).toString('hex').slice(0, 6);
  return `${base.slice(0, 55)}-${suffix}`;
}
