import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

const KEY = Buffer.alloc(32, 7).toString('base64');

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('loadConfig defaults (API.md)', () => {
  const config = loadConfig({});

  it('listens on port 8080 on every interface', () => {
    expect(config.port).toBe(8080);
    expect(config.host).toBe('0.0.0.0');
  });

  it('embeds the database in ./.orgplane with a generated master key', () => {
    expect(config.databaseUrl).toBeNull();
    expect(config.masterKey).toBeNull();
    expect(config.dataDir).toBe(path.resolve(process.cwd(), '.orgplane'));
    expect(path.isAbsolute(config.dataDir)).toBe(true);
  });

  it('allows signup and has no platform administrators', () => {
    expect(config.allowSignup).toBe(true);
    expect(config.platformAdminEmails.size).toBe(0);
  });

  it('derives the public URL from the port', () => {
    expect(config.publicUrl).toBe('http://localhost:8080');
    expect(loadConfig({ PORT: '9000' }).publicUrl).toBe('http://localhost:9000');
  });

  it('throttles logins 10/15 min per account, 100/15 min per IP, signups 30/hour per IP, CLI logins 30/10 min per IP', () => {
    expect(config.rateLimits).toEqual({
      loginFailuresPerAccount: { max: 10, windowSeconds: 900 },
      loginFailuresPerIp: { max: 100, windowSeconds: 900 },
      signupPerIp: { max: 30, windowSeconds: 3600 },
      cliLoginPerIp: { max: 30, windowSeconds: 600 },
      deviceCodePerIp: { max: 30, windowSeconds: 600 },
    });
  });

  it('issues 1-hour access tokens and 30-day refresh tokens', () => {
    expect(config.accessTokenTtlSeconds).toBe(3600);
    expect(config.refreshTokenTtlSeconds).toBe(30 * 86_400);
  });

  it('has no SMTP, logs at info and does not trust proxies', () => {
    expect(config.smtpUrl).toBeNull();
    expect(config.logLevel).toBe('info');
    expect(config.trustProxy).toBe(false);
  });

  it('treats empty variables as unset', () => {
    const empty = loadConfig({
      PORT: '',
      DATABASE_URL: '  ',
      ORGPLANE_MASTER_KEY: '',
      ORGPLANE_ALLOW_SIGNUP: '',
      ORGPLANE_DATA_DIR: '',
      ORGPLANE_PUBLIC_URL: '',
      SMTP_URL: ' ',
    });
    expect(empty).toEqual(config);
  });
});

describe('loadConfig reads its variables', () => {
  it('takes every value given', () => {
    const config = loadConfig({
      PORT: '3000',
      HOST: '127.0.0.1',
      DATABASE_URL: ' postgres://u@db/orgplane ',
      ORGPLANE_MASTER_KEY: ` ${KEY} `,
      ORGPLANE_DATA_DIR: '/var/lib/orgplane',
      ORGPLANE_PUBLIC_URL: 'https://orgplane.example.com///',
      SMTP_URL: 'smtp://mail:25',
      ORGPLANE_ALLOW_SIGNUP: 'false',
      ORGPLANE_PLATFORM_ADMIN_EMAILS: ' Root@Example.com, ops@example.com ,,',
      LOG_LEVEL: 'debug',
      ORGPLANE_ACCESS_TOKEN_TTL_SECONDS: '600',
      ORGPLANE_REFRESH_TOKEN_TTL_SECONDS: '86400',
      ORGPLANE_LOGIN_ACCOUNT_LIMIT_MAX: '5',
      ORGPLANE_LOGIN_ACCOUNT_LIMIT_WINDOW_SECONDS: '60',
      ORGPLANE_LOGIN_IP_LIMIT_MAX: '50',
      ORGPLANE_SIGNUP_IP_LIMIT_WINDOW_SECONDS: '7200',
      ORGPLANE_CLI_LOGIN_IP_LIMIT_MAX: '5',
      ORGPLANE_CLI_LOGIN_IP_LIMIT_WINDOW_SECONDS: '120',
      ORGPLANE_DEVICE_CODE_IP_LIMIT_MAX: '7',
      ORGPLANE_TRUST_PROXY: 'yes',
    });
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: 'postgres://u@db/orgplane',
      masterKey: KEY,
      dataDir: '/var/lib/orgplane',
      publicUrl: 'https://orgplane.example.com',
      smtpUrl: 'smtp://mail:25',
      allowSignup: false,
      logLevel: 'debug',
      accessTokenTtlSeconds: 600,
      refreshTokenTtlSeconds: 86_400,
      rateLimits: {
        loginFailuresPerAccount: { max: 5, windowSeconds: 60 },
        loginFailuresPerIp: { max: 50, windowSeconds: 900 },
        signupPerIp: { max: 30, windowSeconds: 7200 },
        cliLoginPerIp: { max: 5, windowSeconds: 120 },
        deviceCodePerIp: { max: 7, windowSeconds: 600 },
      },
      trustProxy: 1,
    });
    expect([...config.platformAdminEmails]).toEqual(['root@example.com', 'ops@example.com']);
  });

  it.each([
    ['false', false],
    ['true', 1],
    ['2', 2],
    ['10.0.0.1, 10.0.0.0/8', ['10.0.0.1', '10.0.0.0/8']],
  ])('reads ORGPLANE_TRUST_PROXY=%s as hops or proxy addresses, never "trust everyone"', (raw, expected) => {
    expect(loadConfig({ ORGPLANE_TRUST_PROXY: raw }).trustProxy).toEqual(expected);
  });

  it('refuses an ORGPLANE_TRUST_PROXY it cannot read', () => {
    expect(() => loadConfig({ ORGPLANE_TRUST_PROXY: 'everyone' })).toThrow(/ORGPLANE_TRUST_PROXY/);
  });

  it.each([
    ['true', true],
    ['1', true],
    ['YES', true],
    [' on ', true],
    ['False', false],
    ['0', false],
    ['no', false],
    ['off', false],
  ])('reads ORGPLANE_ALLOW_SIGNUP=%j as %s', (raw, expected) => {
    expect(loadConfig({ ORGPLANE_ALLOW_SIGNUP: raw }).allowSignup).toBe(expected);
  });

  it('resolves a relative data directory against the working directory', () => {
    expect(loadConfig({ ORGPLANE_DATA_DIR: 'data/here' }).dataDir).toBe(path.resolve('data/here'));
  });

  it('accepts port 0 (any free port) and 65535', () => {
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
    expect(loadConfig({ PORT: '65535' }).port).toBe(65_535);
  });
});

describe('loadConfig refuses bad values, naming the variable', () => {
  it.each([
    ['PORT', 'abc'],
    ['PORT', '-1'],
    ['PORT', '65536'],
    ['PORT', '80.5'],
    ['ORGPLANE_ALLOW_SIGNUP', 'maybe'],
    ['ORGPLANE_TRUST_PROXY', 'sometimes'],
    ['ORGPLANE_ACCESS_TOKEN_TTL_SECONDS', '59'],
    ['ORGPLANE_ACCESS_TOKEN_TTL_SECONDS', '86401'],
    ['ORGPLANE_REFRESH_TOKEN_TTL_SECONDS', '10'],
    ['ORGPLANE_LOGIN_ACCOUNT_LIMIT_MAX', '0'],
    ['ORGPLANE_LOGIN_ACCOUNT_LIMIT_WINDOW_SECONDS', 'fifteen'],
    ['ORGPLANE_LOGIN_IP_LIMIT_MAX', '-5'],
    ['ORGPLANE_LOGIN_IP_LIMIT_WINDOW_SECONDS', '0'],
    ['ORGPLANE_SIGNUP_IP_LIMIT_MAX', '1.5'],
    ['ORGPLANE_SIGNUP_IP_LIMIT_WINDOW_SECONDS', String(86_400 * 7 + 1)],
    ['ORGPLANE_CLI_LOGIN_IP_LIMIT_MAX', '0'],
    ['ORGPLANE_CLI_LOGIN_IP_LIMIT_WINDOW_SECONDS', 'ten minutes'],
    ['ORGPLANE_DEVICE_CODE_IP_LIMIT_MAX', '-1'],
    ['ORGPLANE_PUBLIC_URL', 'not a url'],
    ['ORGPLANE_PUBLIC_URL', 'orgplane.example.com'],
  ])('%s=%j', (name, value) => {
    const error = configError({ [name]: value });
    expect(error.message).toContain(name);
    expect(error.message).toContain(value);
  });

  it('LOG_LEVEL: names the variable and every allowed level instead of failing inside pino', () => {
    for (const bad of ['verbose', 'warning', 'none']) {
      const error = configError({ LOG_LEVEL: bad });
      expect(error.message).toBe(
        `LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "${bad}"`,
      );
    }
    expect(loadConfig({ LOG_LEVEL: ' WARN ' }).logLevel).toBe('warn');
    expect(loadConfig({ LOG_LEVEL: 'silent' }).logLevel).toBe('silent');
  });

  it('requires ORGPLANE_MASTER_KEY when DATABASE_URL is set', () => {
    const error = configError({ DATABASE_URL: 'postgres://u@db/orgplane' });
    expect(error.message).toContain('ORGPLANE_MASTER_KEY');
    expect(error.message).toContain('DATABASE_URL');
    expect(
      configError({ DATABASE_URL: 'postgres://u@db/orgplane', ORGPLANE_MASTER_KEY: '  ' }).message,
    ).toContain('ORGPLANE_MASTER_KEY');
    expect(
      loadConfig({ DATABASE_URL: 'postgres://u@db/orgplane', ORGPLANE_MASTER_KEY: KEY }).databaseUrl,
    ).toBe('postgres://u@db/orgplane');
  });

  it('is an Error subclass callers can tell apart', () => {
    const error = configError({ PORT: 'x' });
    expect(error).toBeInstanceOf(Error);
  });
});
