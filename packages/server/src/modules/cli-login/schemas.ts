import { Type } from 'typebox';
import { Nullable, StringEnum, Timestamp, Uuid } from '../../http/schema-helpers.ts';
import { TokenResponse } from '../auth/schemas.ts';

export const CLI_LOGIN_STATUSES = ['pending', 'approved', 'consumed', 'expired'] as const;

// Bounds the input only: a wrong secret or token of any shape is simply not found.
const Secret = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'The `fl_clr_` secret returned when the request was created.',
});

export const CreateCliLoginRequestBody = Type.Object(
  {
    client_name: Type.Optional(
      Type.String({
        maxLength: 100,
        // Shown to the approving user: no control characters (line breaks could fake other text).
        pattern: '^[^\\u0000-\\u001f\\u007f]*$',
        description: 'What is asking to sign in, shown to the approving user (e.g. the hostname).',
        examples: ['jane-laptop'],
      }),
    ),
  },
  { additionalProperties: false, examples: [{ client_name: 'jane-laptop' }] },
);

export const CreatedCliLoginRequest = Type.Object({
  request_id: Uuid(),
  secret: Type.String({
    description:
      'The `fl_clr_` secret, shown this once: the CLI keeps it to poll, and it travels in `verification_url`.',
  }),
  verification_url: Type.String({
    description: 'The page where a signed-in user approves the request (carries `request_id` and `secret`).',
  }),
  expires_at: Timestamp(),
});

export const CliLoginRequestParams = Type.Object({ request_id: Uuid() });

export const CliLoginRequestQuery = Type.Object({ secret: Secret }, { additionalProperties: false });

export const CliLoginRequest = Type.Object({
  request_id: Uuid(),
  status: StringEnum(CLI_LOGIN_STATUSES),
  client_name: Nullable(Type.String()),
  requested_from: Type.Object({
    ip: Nullable(Type.String()),
    user_agent: Nullable(Type.String()),
  }),
  created_at: Timestamp(),
  expires_at: Timestamp(),
});

export const SecretBody = Type.Object({ secret: Secret }, { additionalProperties: false });

export const OneTimeToken = Type.Object({
  token: Type.String({
    description:
      'The `fl_clt_` one-time token, shown this once: paste it into a CLI that cannot poll (POST /api/v1/auth/cli-login).',
  }),
  expires_at: Timestamp(),
});

export const PollResponse = Type.Union([
  Type.Object({ status: Type.Literal('pending') }),
  Type.Object({ status: Type.Literal('approved'), ...TokenResponse.properties }),
]);

export const RedeemBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 256, description: 'The `fl_clt_` one-time token.' }) },
  { additionalProperties: false },
);
