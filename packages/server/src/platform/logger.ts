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

// Query parameters whose values are credentials (e.g. `?token=` in an invitation link).
const SECRET_QUERY = /([?&][^=&#]*(?:token|secret|password|key|code|signature)[^=&#]*=)[^&#]*/gi;

/** The URL with credential-like query values replaced, for logging. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[redacted]');
}

interface LoggedRequest {
  method: string;
  url: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: {
      req: (request: LoggedRequest) => ({
        method: request.method,
        url: redactUrl(request.url),
        host: request.host,
        remoteAddress: request.ip,
        remotePort: request.socket?.remotePort,
      }),
    },
    base: { service: 'orgplane' },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
  };
}
