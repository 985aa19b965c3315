// The only reader of process.env. Everything else receives a typed, validated Config.
import path from 'node:path';

export interface RateLimitRule {
  /** Allowed events in one window. */
  max: number;
  windowSeconds: number;
}

export interface Config {
  port: number;
  host: string;
  /** Unset → embedded PGlite in dataDir. */
  databaseUrl: string | null;
  dataDir: string;
  publicUrl: string;
  /** Raw master key material from ORGPLANE_MASTER_KEY (base64 or hex of 32 bytes), if given. */
  masterKey: string | null;
  smtpUrl: string | null;
  allowSignup: boolean;
  platformAdminEmails: ReadonlySet<string>;
  logLevel: string;
  accessTokenTtlSeconds: number;
  /** POST /auth/token hands out the same token again for the same key and ttl within this many seconds (0: never). */
  tokenExchangeReuseSeconds: number;
  refreshTokenTtlSeconds: number;
  /** Absolute lifetime of a sign-in, however often its refresh token is used. */
  sessionMaxAgeSeconds: number;
  rateLimits: {
    loginFailuresPerAccount: RateLimitRule;
    loginFailuresPerIp: RateLimitRule;
    signupPerIp: RateLimitRule;
    /** CLI login requests created per IP; polls and token redemptions per IP are allowed 20× as many. */
    cliLoginPerIp: RateLimitRule;
    /** Device-flow user codes entered per client IP (RFC 8628 §5.1: user codes are guessable). */
    deviceCodePerIp: RateLimitRule;
  };
  /** When set, GET /metrics requires `Authorization: Bearer <this>`. */
  metricsToken: string | null;
  /**
   * Which X-Forwarded-For entries to believe: false (none), a number of proxy hops in front of
   * Orgplane, or the addresses/CIDRs of those proxies. Never "all": a client could forge its IP.
   */
  trustProxy: false | number | string[];
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

function rule(env: Env, prefix: string, max: number, windowSeconds: number): RateLimitRule {
  return {
    max: integer(env, `${prefix}_MAX`, max, 1, 1_000_000),
    windowSeconds: integer(env, `${prefix}_WINDOW_SECONDS`, windowSeconds, 1, 86_400 * 7),
  };
}

// pino's levels. Checked here so a typo names the variable instead of failing inside pino.
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

function logLevel(raw: string | undefined): string {
  const value = raw?.trim().toLowerCase() || 'info';
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value;
  throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
}

function trustProxy(raw: string | undefined): false | number | string[] {
  const value = raw?.trim().toLowerCase() ?? '';
  if (['', 'false', '0', 'no', 'off'].includes(value)) return false;
  if (['true', 'yes', 'on'].includes(value)) return 1; // one proxy (the load balancer) in front
  if (/^\d+$/.test(value)) return Number(value);
  const addresses = value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  if (addresses.every((a) => /^[0-9a-f.:]+(\/\d{1,3})?$/.test(a))) return addresses;
  throw new ConfigError(
    `ORGPLANE_TRUST_PROXY must be false, true (one proxy), a number of proxies, or a comma-separated list of proxy addresses/CIDRs, got "${raw}"`,
  );
}

export function loadConfig(env: Env = process.env): Config {
  const port = integer(env, 'PORT', 8080, 0, 65_535);
  const publicUrl = (env.ORGPLANE_PUBLIC_URL || `http://localhost:${port}`).replace(/\/+$/, '');
  try {
    new URL(publicUrl);
  } catch {
    throw new ConfigError(`ORGPLANE_PUBLIC_URL must be an absolute URL, got "${publicUrl}"`);
  }
  const databaseUrl = env.DATABASE_URL?.trim() || null;
  const masterKey = env.ORGPLANE_MASTER_KEY?.trim() || null;
  if (databaseUrl && !masterKey) {
    // Every node sharing one database must share one master key; a generated file cannot be shared.
    throw new ConfigError(
      'ORGPLANE_MASTER_KEY is required when DATABASE_URL is set (32 random bytes, base64 or hex: `openssl rand -base64 32`)',
    );
  }
  return {
    port,
    host: env.HOST || '0.0.0.0',
    databaseUrl,
    dataDir: path.resolve(env.ORGPLANE_DATA_DIR || '.orgplane'),
    publicUrl,
    masterKey,
    smtpUrl: env.SMTP_URL?.trim() || null,
    allowSignup: boolean(env, 'ORGPLANE_ALLOW_SIGNUP', true),
    platformAdminEmails: new Set(
      (env.ORGPLANE_PLATFORM_ADMIN_EMAILS ?? '')
        .split(',')
        .map((email) => email.trim().toLowerCase())
        .filter(Boolean),
    ),
    logLevel: logLevel(env.LOG_LEVEL),
    accessTokenTtlSeconds: integer(env, 'ORGPLANE_ACCESS_TOKEN_TTL_SECONDS', 3600, 60, 86_400),
    tokenExchangeReuseSeconds: integer(env, 'ORGPLANE_TOKEN_EXCHANGE_REUSE_SECONDS', 2, 0, 60),
    refreshTokenTtlSeconds: integer(
      env,
      'ORGPLANE_REFRESH_TOKEN_TTL_SECONDS',
      30 * 86_400,
      300,
      365 * 86_400,
    ),
    sessionMaxAgeSeconds: integer(
      env,
      'ORGPLANE_SESSION_MAX_AGE_SECONDS',
      90 * 86_400,
      300,
      3 * 365 * 86_400,
    ),
    rateLimits: {
      loginFailuresPerAccount: rule(env, 'ORGPLANE_LOGIN_ACCOUNT_LIMIT', 10, 15 * 60),
      loginFailuresPerIp: rule(env, 'ORGPLANE_LOGIN_IP_LIMIT', 100, 15 * 60),
      signupPerIp: rule(env, 'ORGPLANE_SIGNUP_IP_LIMIT', 30, 3600),
      cliLoginPerIp: rule(env, 'ORGPLANE_CLI_LOGIN_IP_LIMIT', 30, 600),
      deviceCodePerIp: rule(env, 'ORGPLANE_DEVICE_CODE_IP_LIMIT', 30, 600),
    },
    trustProxy: trustProxy(env.ORGPLANE_TRUST_PROXY),
    metricsToken: env.ORGPLANE_METRICS_TOKEN?.trim() || null,
  };
}
