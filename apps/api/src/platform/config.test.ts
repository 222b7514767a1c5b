import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactUrl, UnreachableServiceError } from './config';

describe('loadConfig', () => {
  it('gives the documented defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(8000);
    expect(config.ROLE).toBe('all');
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.ACCESS_TOKEN_TTL).toBe(900);
    expect(config.REFRESH_TOKEN_TTL).toBe(2_592_000);
    expect(config.DATA_DIR).toMatch(/\/data$/);
  });

  it('converts numbers and booleans', () => {
    const config = loadConfig({ PORT: '9000', TRUST_PROXY: 'true', RATE_LIMIT_LOGIN_PER_MINUTE: '3' });
    expect(config.PORT).toBe(9000);
    expect(config.TRUST_PROXY).toBe(true);
    expect(config.RATE_LIMIT_LOGIN_PER_MINUTE).toBe(3);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ ROLE: 'both' }, 'ROLE'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY'],
    [{ ROLE: 'worker' }, 'ROLE'],
    [{ NODE_ENV: 'production' }, 'MASTER_KEY'],
  ])('refuses %j naming %s in one line', (env, variable) => {
    let caught: unknown;
    try {
      loadConfig(env);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
    expect(error.message).not.toContain('\n');
  });

  it.each([
    [{ ROLE: 'both' }, 'ROLE must be one of all, api, worker (got "both")'],
    [{ NODE_ENV: 'prod' }, 'NODE_ENV must be one of development, production, test (got "prod")'],
    [
      { LOG_LEVEL: 'loud' },
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
    ],
  ])('names the values an enum-like setting takes: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(`Invalid configuration: ${message}`);
  });

  it('repeats a wrong value in its error, unless the variable may hold a secret', () => {
    const messageOf = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (error) {
        return (error as ConfigError).message;
      }
      throw new Error('accepted');
    };
    expect(messageOf({ LOG_LEVEL: 'loud' })).toContain('"loud"');
    for (const [variable, secret] of [
      ['MASTER_KEY', 'c2VjcmV0LW1hc3Rlci1rZXktdGhhdC1pcy1ub3QtcmlnaHQ'],
      ['DATABASE_URL', 'mysql://app:hunter2@db/tessera'],
      ['SMTP_URL', 'http://mail:hunter2@smtp'],
      ['METRICS_TOKEN', 'hunter2'],
    ] as const) {
      const message = messageOf({ [variable]: secret });
      expect(message).toContain(variable);
      expect(message).not.toContain(secret);
      expect(message).not.toContain('hunter2');
    }
  });
});

describe('redactUrl', () => {
  it.each([
    ['postgres://tessera:hunter2@db:5432/tessera', 'postgres://tessera:***@db:5432/tessera'],
    ['redis://:hunter2@cache:6379/0', 'redis://:***@cache:6379/0'],
    [
      'postgres://db/tessera?sslmode=require&password=hunter2',
      'postgres://db/tessera?sslmode=require&password=***',
    ],
    ['redis://cache:6379', 'redis://cache:6379'],
    ['postgres://[db', '(an unreadable URL)'],
  ])('shows %s as %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });
});

describe('UnreachableServiceError', () => {
  it('names the setting, where it points and the reason, on one line', () => {
    const error = new UnreachableServiceError(
      'DATABASE_URL',
      'PostgreSQL',
      'postgres://tessera:hunter2@localhost:5999/tessera',
      new Error('connect ECONNREFUSED 127.0.0.1:5999'),
    );
    expect(error.message).toBe(
      'cannot connect to PostgreSQL at DATABASE_URL=postgres://tessera:***@localhost:5999/tessera: connect ECONNREFUSED 127.0.0.1:5999',
    );
  });

  it("gives every address's reason when a connection tried several (IPv6 and IPv4) and its error has none", () => {
    const tried = new AggregateError([
      new Error('connect ECONNREFUSED ::1:6379'),
      new Error('connect ECONNREFUSED 127.0.0.1:6379'),
    ]);
    const error = new UnreachableServiceError('REDIS_URL', 'Redis', 'redis://localhost:6379', tried);
    expect(error.message).toBe(
      'cannot connect to Redis at REDIS_URL=redis://localhost:6379: connect ECONNREFUSED ::1:6379; connect ECONNREFUSED 127.0.0.1:6379',
    );
  });
});
