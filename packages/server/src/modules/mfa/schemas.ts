import { Type } from 'typebox';

export const TotpEnrolment = Type.Object({
  secret: Type.String({ description: 'Base32 secret, for typing into an authenticator app by hand.' }),
  otpauth_url: Type.String({
    description: 'otpauth://totp/… URL (SHA-1, 6 digits, 30 s) to show as a QR code.',
  }),
  confirmed: Type.Boolean({ description: 'Always false: confirm with POST /api/v1/me/mfa/totp/verify.' }),
});

export const TotpCodeBody = Type.Object(
  {
    code: Type.String({
      minLength: 1,
      maxLength: 16,
      description: 'The current 6-digit code from your authenticator app.',
      examples: ['123456'],
    }),
  },
  { additionalProperties: false },
);

export const TotpEnabled = Type.Object({ enabled: Type.Literal(true) });
