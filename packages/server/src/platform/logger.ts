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
  return url.includes('?') ? url.replace(SECRET_QUERY, '$1[redacted]') : url;
}

interface LoggedRequest {
  method: string;
  url: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

const SERVICE = 'orgplane';

// One ISO string per millisecond: under load many lines share it.
let isoMs = 0;
let isoText = '';
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

const json = (value: string | undefined) => (value === undefined ? 'null' : JSON.stringify(value));

/**
 * The access-log line of an answered request, as pino would print it with `loggerOptions`: the
 * same fields, level and time format. Built by hand because it is the one line written per
 * request: through pino it took a child logger, the serializer and redaction (over paths this
 * line never has) on every request, ~2× the cost of a cached whoami (ADR 18).
 */
export function accessLogLine(request: FastifyRequest, statusCode: number, responseTime: number): string {
  return `{"level":30,"time":"${isoNow()}","service":"${SERVICE}","reqId":${json(request.id)},"req":{"method":${json(request.method)},"url":${json(redactUrl(request.url))},"host":${json(request.host)},"remoteAddress":${json(request.ip)},"remotePort":${request.socket?.remotePort ?? null}},"res":{"statusCode":${statusCode}},"responseTime":${responseTime},"msg":"request completed"}\n`;
}

/** The line a LogDestination writes when it had to drop lines (stdout did not drain). */
export function droppedLinesNotice(dropped: number): string {
  return `{"level":40,"time":"${isoNow()}","service":"${SERVICE}","dropped":${dropped},"msg":"${dropped} log lines dropped: stdout did not take them in time"}\n`;
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
    base: { service: SERVICE },
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
 * request whose level is off costs a level check and nothing else. Answered requests go straight
 * to the logger's destination (`accessLogLine`); errored ones through pino, with the error.
 */
export class AccessLogController extends LogController {
  constructor(private readonly destination: { write(line: string): unknown } | null) {
    super();
  }

  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (error) {
      // The `req` serializer above picks the request's fields and redacts its query.
      const line = { req: request, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime };
      reply.log.error({ ...line, err: error }, 'request errored');
    } else if (this.destination && isInfoEnabled(reply.log)) {
      this.destination.write(accessLogLine(request, reply.statusCode, reply.elapsedTime));
    }
  }
}

// Pino (and LazyRequestLogger) can say; the no-op logger of `logger: false` cannot (and logs nothing).
function isInfoEnabled(log: unknown): boolean {
  const check = (log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return typeof check === 'function' && check.call(log, 'info');
}
