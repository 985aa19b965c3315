// Structured JSON logs. Credentials never reach a log line: headers and body fields that carry
// secrets are redacted wherever they appear.
import type { LoggerOptions } from 'pino';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.new_password',
  '*.current_password',
  '*.refresh_token',
  '*.access_token',
  '*.api_key',
  '*.token',
  '*.secret',
  '*.cloud_credentials',
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: 'orgplane' },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
  };
}
