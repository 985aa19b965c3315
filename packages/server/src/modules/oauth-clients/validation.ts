// The rules for what an OAuth client may register, beyond what the JSON schema can say. Redirect URIs
// are compared verbatim by the authorization server, so they are checked as written and never
// normalised: what is stored is exactly what was sent.
import { GRANTABLE_SCOPES } from '../../access/permissions.ts';
import type { FieldError } from '../../http/problem.ts';

/** OpenID Connect / OAuth protocol scopes a client may also request. */
export const PROTOCOL_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

/** Every scope an OAuth client may be registered with. */
export const OAUTH_CLIENT_SCOPES: readonly string[] = [...PROTOCOL_SCOPES, ...GRANTABLE_SCOPES];
const KNOWN_SCOPES = new Set(OAUTH_CLIENT_SCOPES);

/** The hosts plain http:// is allowed for (RFC 8252 §7.3 native-app loopback redirects). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

// RFC 3986 characters: unreserved, reserved and `%` (of a percent-encoding). Nothing else.
const URI_CHARACTERS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

/** Why a redirect URI cannot be registered, or null when it can. */
export function redirectUriProblem(uri: string): string | null {
  if (uri.includes('*')) return 'must not contain a wildcard (*): register each redirect URI exactly';
  if (uri.includes('#')) return 'must not contain a fragment (#…)';
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
  if (!scheme) return 'must be an absolute URI such as https://app.example.com/callback, not a relative one';
  if (scheme !== 'https' && scheme !== 'http') {
    return `must use https:// (or http:// for a loopback host), not ${scheme}:`;
  }
  if (!URI_CHARACTERS.test(uri)) {
    return 'must contain only characters allowed in a URI (no spaces, quotes, backslashes or non-ASCII characters: percent-encode them)';
  }
  if (/%(?![0-9A-Fa-f]{2})/.test(uri)) return 'has a % that does not start a percent-encoded byte (%XX)';
  const rest = uri.slice(scheme.length + 1);
  if (!rest.startsWith('//')) return `must be written ${scheme}://host/…`;
  const authority = rest.slice(2).split(/[/?]/, 1)[0] ?? '';
  if (authority.includes('@')) return 'must not contain user information (user:password@)';
  const host = authority.replace(/:\d*$/, '');
  if (host === '') return 'must name a host';
  try {
    new URL(uri);
  } catch {
    return 'is not a valid URI (check its host and port)';
  }
  if (scheme === 'http' && !LOOPBACK_HOSTS.has(host.toLowerCase())) {
    return 'must use https:// (http:// is allowed only for a loopback host: 127.0.0.1, [::1] or localhost)';
  }
  return null;
}

/** Each redirect URI valid, none listed twice. */
export function redirectUriErrors(uris: readonly string[]): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Map<string, number>();
  uris.forEach((uri, index) => {
    const path = `body.redirect_uris.${index}`;
    const first = seen.get(uri);
    if (first !== undefined) {
      errors.push({ path, message: `repeats body.redirect_uris.${first}: list each redirect URI once` });
      return;
    }
    seen.set(uri, index);
    const problem = redirectUriProblem(uri);
    if (problem) errors.push({ path, message: problem });
  });
  return errors;
}

/** Each scope known, none listed twice. */
export function scopeErrors(scopes: readonly string[]): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Map<string, number>();
  scopes.forEach((scope, index) => {
    const path = `body.scopes.${index}`;
    const first = seen.get(scope);
    if (first !== undefined) {
      errors.push({ path, message: `repeats body.scopes.${first} ("${scope}"): list each scope once` });
      return;
    }
    seen.set(scope, index);
    if (!KNOWN_SCOPES.has(scope)) {
      errors.push({
        path,
        message: `"${scope}" is not a scope OAuth clients can request (GET /api/v1/scopes lists them, plus ${PROTOCOL_SCOPES.join(', ')})`,
      });
    }
  });
  return errors;
}
