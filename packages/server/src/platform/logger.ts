// Structured JSON logs. Credentials never reach a log line: headers and body fields that carry
// secrets are redacted wherever they appear.
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { Bindings, ChildLoggerOptions, Logger, LoggerOptions } from 'pino';

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
  '*.client_secret',
  '*.cloud_credentials',
  // Database errors carry the query's parameters, which may include a secret's hash or a secret.
  'err.parameters',
  'err.params',
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

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
type LogCall = (...args: unknown[]) => void;

/**
 * A request's logger that becomes a real pino child only when something is logged at an enabled
 * level. Fastify makes a child per request; with redaction and serializers configured that costs
 * more than the rest of a cached credential check, and most requests log nothing below `info`
 * once request logging is turned down.
 */
export class LazyRequestLogger {
  private made: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Bindings,
  ) {}

  get level(): string {
    return (this.made ?? this.parent).level;
  }

  set level(level: string) {
    this.real().level = level;
  }

  isLevelEnabled(level: string): boolean {
    return (this.made ?? this.parent).isLevelEnabled(level);
  }

  trace(...args: unknown[]) {
    this.log('trace', args);
  }
  debug(...args: unknown[]) {
    this.log('debug', args);
  }
  info(...args: unknown[]) {
    this.log('info', args);
  }
  warn(...args: unknown[]) {
    this.log('warn', args);
  }
  error(...args: unknown[]) {
    this.log('error', args);
  }
  fatal(...args: unknown[]) {
    this.log('fatal', args);
  }
  silent() {}

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.real().child(bindings, options);
  }

  private log(level: Level, args: unknown[]) {
    if (!this.isLevelEnabled(level)) return;
    (this.real()[level] as LogCall)(...args);
  }

  private real(): Logger {
    this.made ??= this.parent.child(this.bindings);
    return this.made;
  }
}

/**
 * One access-log line per request, when it is answered, with the method, the (redacted) URL, the
 * status and the time taken; Fastify's default is two (an `incoming request` line as well). A
 * request whose level is off costs a level check and nothing else.
 */
export class AccessLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (!error && !isInfoEnabled(reply.log)) return;
    // The `req` serializer above picks the request's fields and redacts its query.
    const line = { req: request, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}

// Pino (and LazyRequestLogger) can say; the no-op logger of `logger: false` cannot (and logs nothing).
function isInfoEnabled(log: unknown): boolean {
  const check = (log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return typeof check === 'function' && check.call(log, 'info');
}
