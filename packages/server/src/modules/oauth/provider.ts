// The OAuth 2.0 / OpenID Connect authorization server: oidc-provider, configured for Orgplane.
//
// - Issuer `ORGPLANE_PUBLIC_URL`; signed with the same ES256 key as first-party tokens, so the one
//   JWKS (/.well-known/jwks.json) verifies both. A provider is rebuilt when the key rotates.
// - Authorization code with PKCE S256 only (no implicit, no password grant), refresh tokens rotated
//   on every use (a replayed one revokes the grant), device authorization (RFC 8628).
// - API scopes belong to one resource server, `urn:orgplane:api` (the default resource); the org a
//   user grants access to is chosen on the consent page and kept on the grant. Access tokens are
//   JWTs shaped like first-party ones (`aud` the issuer, `org_id`, `scope`) plus `oauth_grant`, so
//   every API route accepts them, acting with the granted scopes ∩ the user's current role, for
//   as long as the grant exists.
import type { FastifyReply } from 'fastify';
import type { Configuration, KoaContextWithOIDC, default as Provider } from 'oidc-provider';
import { isGrantable } from '../../access/permissions.ts';
import type { AppDeps } from '../../app-deps.ts';
import { PAGE_HEADERS } from '../../http/hosted-pages.ts';
import { safeEqual, sha256Hex } from '../../platform/crypto.ts';
import { PROTOCOL_SCOPES } from '../oauth-clients/validation.ts';
import { adapterFor, CLIENT_API_SCOPES, CLIENT_ORG } from './adapter.ts';
import {
  deviceCodePage,
  deviceConfirmPage,
  deviceDonePage,
  errorPage,
  logoutPage,
  signedOutPage,
} from './pages.ts';
import { findAccount, grantOrg } from './repo.ts';

/**
 * The one resource server: Orgplane's API. The org a token acts in is not part of the request
 * (the client does not know it); the user picks it on the consent page and it is kept on the grant.
 */
export const API_RESOURCE = 'urn:orgplane:api';
const ALG = 'ES256';

export const OAUTH_ROUTES = {
  authorization: '/oauth/authorize',
  token: '/oauth/token',
  revocation: '/oauth/revoke',
  introspection: '/oauth/introspect',
  userinfo: '/oauth/userinfo',
  device_authorization: '/oauth/device/auth',
  code_verification: '/oauth/device',
  end_session: '/oauth/session/end',
  pushed_authorization_request: '/oauth/par',
  jwks: '/.well-known/jwks.json', // served by our own route (the same keys)
};

/** The API scopes (not the protocol ones) in a space-separated scope string. */
export function apiScopesOf(scope: string | undefined): string[] {
  return (scope ?? '').split(' ').filter((s) => s !== '' && isGrantable(s));
}

/** The API scopes a client registered (extra client metadata, set by the adapter). */
export function registeredApiScopes(client: object | undefined): string[] {
  const scopes = (client as Record<string, unknown> | undefined)?.[CLIENT_API_SCOPES];
  return Array.isArray(scopes) ? scopes.filter((scope): scope is string => typeof scope === 'string') : [];
}

type OidcProviderModule = typeof import('oidc-provider');

/**
 * Loads oidc-provider once. It prints a warning on Node.js 20 (it targets 22 LTS) straight to the
 * console; the warning goes to our JSON log instead, so every log line stays JSON.
 */
export async function loadOidcProvider(log: { warn(message: string): void }): Promise<OidcProviderModule> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => log.warn(args.map(String).join(' '));
  try {
    return await import('oidc-provider');
  } finally {
    console.warn = warn;
  }
}

export function buildProvider(deps: AppDeps, oidc: OidcProviderModule): Provider {
  const { errors } = oidc;
  const issuer = deps.config.publicUrl;
  const configuration: Configuration = {
    adapter: adapterFor(deps.db),
    clients: [],
    extraClientMetadata: { properties: [CLIENT_ORG, CLIENT_API_SCOPES] },
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      id_token_signed_response_alg: ALG,
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    findAccount: async (_ctx, sub) => {
      const account = await findAccount(deps.db, sub);
      if (!account) return undefined;
      return {
        accountId: account.id,
        claims: async () => ({
          sub: account.id,
          email: account.email,
          email_verified: false,
          name: account.name,
        }),
      };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    scopes: [...PROTOCOL_SCOPES],
    responseTypes: ['code'],
    pkce: { required: () => true },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    // The stored client secret is a hash: nothing may need the secret itself (HS*, PBES2).
    enabledJWA: {
      idTokenSigningAlgValues: [ALG],
      userinfoSigningAlgValues: [ALG],
      introspectionSigningAlgValues: [ALG],
      authorizationSigningAlgValues: [ALG],
      requestObjectSigningAlgValues: [ALG],
      clientAuthSigningAlgValues: [ALG],
    },
    jwks: { keys: [deps.keys.activePrivateJwk() as never] },
    cookies: {
      keys: [deps.vault.masterKey.derive('oauth-cookies').toString('base64url')],
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: false },
      // A client revokes and introspects only its own tokens.
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.set(PAGE_HEADERS);
          ctx.body = logoutPage(form);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.set(PAGE_HEADERS);
          ctx.body = signedOutPage();
        },
      },
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: '****-****',
        userCodeInputSource: async (ctx, form, _out, error) => {
          ctx.set(PAGE_HEADERS);
          ctx.body = deviceCodePage(
            form,
            error ? 'That code is not valid or has expired. Check it and try again.' : undefined,
          );
        },
        userCodeConfirmSource: async (ctx, form, client, _deviceInfo, userCode) => {
          ctx.set(PAGE_HEADERS);
          ctx.body = deviceConfirmPage(form, client.clientName ?? 'An application', userCode);
        },
        successSource: async (ctx) => {
          ctx.set(PAGE_HEADERS);
          ctx.body = deviceDonePage(ctx.oidc.client?.clientName ?? 'The application');
        },
      },
      resourceIndicators: {
        enabled: true,
        // Asked for API scopes: the API. Only protocol scopes: none, so the token is for userinfo.
        defaultResource: async (ctx, _client, oneOf) =>
          oneOf ??
          (apiScopesOf(ctx.oidc.params?.scope as string | undefined).length ? API_RESOURCE : undefined),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resource, client) => {
          if (resource !== API_RESOURCE) {
            throw new errors.InvalidTarget(`the only resource here is ${API_RESOURCE}`);
          }
          return {
            scope: registeredApiScopes(client).join(' '),
            audience: issuer,
            accessTokenTTL: deps.config.accessTokenTtlSeconds,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: ALG } },
          };
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `/oauth/interaction/${interaction.uid}` },
    routes: OAUTH_ROUTES,
    ttl: {
      AccessToken: deps.config.accessTokenTtlSeconds,
      AuthorizationCode: 60,
      DeviceCode: 600,
      IdToken: 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: 365 * 24 * 3600,
      RefreshToken: 30 * 24 * 3600,
    },
    rotateRefreshToken: () => true,
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    extraTokenClaims: async (_ctx, token) => {
      const grantId = (token as { grantId?: string }).grantId;
      const orgId = grantId ? await grantOrg(deps.db, grantId) : undefined;
      if (!orgId) return undefined;
      // The same claims as a first-party token (seed 002 carries the active org in `owner`).
      return { org_id: orgId, owner: orgId, oauth_grant: grantId };
    },
    clientBasedCORS: (_ctx, origin, client) =>
      client.redirectUris?.some((uri) => new URL(uri).origin === origin) ?? false,
    renderError: async (ctx, out) => {
      ctx.set(PAGE_HEADERS);
      ctx.body = errorPage(out as { error: string; error_description?: string });
    },
  };

  const provider = new oidc.default(issuer, configuration);
  // Only the forwarded host and protocol set by routes.ts from the issuer are read.
  provider.proxy = true;
  // Client secrets are stored as SHA-256 (shown once at registration, like every secret here).
  provider.Client.prototype.compareClientSecret = function (this: { clientSecret?: string }, actual: string) {
    return typeof this.clientSecret === 'string' && safeEqual(this.clientSecret, sha256Hex(actual));
  };
  return provider;
}

/** Hands a request to oidc-provider (its Koa app), outside Fastify's reply handling. */
export function handOver(provider: Provider, reply: FastifyReply): void {
  reply.hijack();
  provider.callback()(reply.request.raw, reply.raw);
}

export type OidcContext = KoaContextWithOIDC;
