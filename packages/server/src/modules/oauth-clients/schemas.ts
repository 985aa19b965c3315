import { Type } from 'typebox';
import { pageQueryFields, pageResponse } from '../../http/pagination.ts';
import { Nullable, StringEnum, Timestamp, Uuid } from '../../http/schema-helpers.ts';
import { PROTOCOL_SCOPES } from './validation.ts';

export const MAX_REDIRECT_URIS = 10;

const Name = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '\\S',
  description: 'Shown to people when they are asked to authorise the client (1–100 characters).',
  examples: ['Acme dashboard'],
});
const Description = Type.String({ maxLength: 500, examples: ['Internal analytics dashboard'] });

const RedirectUris = Type.Array(
  Type.String({
    minLength: 1,
    maxLength: 2048,
    description:
      'An absolute https:// URI without fragment, user information or wildcard; http:// only for a loopback host (127.0.0.1, [::1], localhost). Stored and later compared exactly as written.',
    examples: ['https://app.example.com/callback'],
  }),
  {
    minItems: 1,
    maxItems: MAX_REDIRECT_URIS,
    description: `1–${MAX_REDIRECT_URIS} redirect URIs, each listed once.`,
  },
);

const Scopes = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
  minItems: 1,
  maxItems: 100,
  description: `The scopes the client may request, each listed once: any of the catalogue (\`GET /api/v1/scopes\`) or the protocol scopes ${PROTOCOL_SCOPES.map((s) => `\`${s}\``).join(', ')}.`,
  examples: [['openid', 'read:workspaces']],
});

export const ClientType = StringEnum(['public', 'confidential'] as const, {
  description:
    '`confidential`: a server-side app that keeps a client secret; `public`: a browser or native app that cannot (it uses PKCE alone).',
});

export const OAuthClient = Type.Object({
  client_id: Uuid({ description: 'The public client identifier.' }),
  org_id: Uuid(),
  name: Type.String(),
  description: Nullable(Type.String()),
  type: ClientType,
  redirect_uris: Type.Array(Type.String()),
  scopes: Type.Array(Type.String()),
  secret_start: Nullable(
    Type.String({
      description:
        'The first characters of the current client secret, to tell secrets apart (null for public clients).',
    }),
  ),
  created_by: Type.Object({
    user_id: Nullable(Uuid({ description: 'The user who created it (null once that user is deleted).' })),
  }),
  created_at: Timestamp(),
  updated_at: Timestamp(),
});

export const CreatedOAuthClient = Type.Intersect([
  OAuthClient,
  Type.Object({
    client_secret: Type.Optional(
      Type.String({
        description: 'Confidential clients only: the `fl_ocs_` secret, shown this once. Store it now.',
      }),
    ),
  }),
]);

export const OAuthClientParams = Type.Object({ org_id: Uuid(), client_id: Uuid() });

export const CreateOAuthClientBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Description),
    type: ClientType,
    redirect_uris: RedirectUris,
    scopes: Scopes,
  },
  {
    additionalProperties: false,
    examples: [
      {
        name: 'Acme dashboard',
        type: 'confidential',
        redirect_uris: ['https://dashboard.example.com/oauth/callback'],
        scopes: ['openid', 'email', 'read:workspaces'],
      },
    ],
  },
);

export const UpdateOAuthClientBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Nullable(Description)),
    redirect_uris: Type.Optional(RedirectUris),
    scopes: Type.Optional(Scopes),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    examples: [{ redirect_uris: ['https://dashboard.example.com/oauth/callback'] }],
  },
);

export const RotatedSecret = Type.Object({
  client_id: Uuid(),
  client_secret: Type.String({
    description: 'The new `fl_ocs_` secret, shown this once; the previous one stopped working.',
  }),
});

export const ListOAuthClientsQuery = Type.Object(pageQueryFields, { additionalProperties: false });
export const OAuthClientPage = pageResponse(OAuthClient);
