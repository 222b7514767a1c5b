import path from 'node:path';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/**
 * Every setting the platform reads from the environment, in one validated object.
 * README.md lists each of them; a bad value stops start-up with one line naming the variable.
 */
const Int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  Type.Integer({ default: def, minimum: min, maximum: max });
const Opt = <T extends TSchema>(schema: T) => Type.Optional(schema);
const Url = Type.String({ pattern: '^[a-z][a-z0-9+.-]*://' });

export const ConfigSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], {
    default: 'development',
  }),
  PORT: Int(8000, 0, 65535),
  HOST: Type.String({ default: '0.0.0.0', minLength: 1 }),
  ROLE: Type.Union([Type.Literal('all'), Type.Literal('api'), Type.Literal('worker')], { default: 'all' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info' },
  ),
  PUBLIC_URL: Type.String({ default: 'http://localhost:8000', pattern: '^https?://' }),
  CORS_ORIGIN: Opt(Type.String({ minLength: 1 })),
  BODY_LIMIT: Int(1_048_576, 1024),
  TRUST_PROXY: Type.Boolean({ default: false }),

  DATABASE_URL: Opt(Type.String({ pattern: '^postgres(ql)?://' })),
  DATABASE_POOL_SIZE: Int(20, 1, 500),
  DATA_DIR: Type.String({ default: './data', minLength: 1 }),
  REDIS_URL: Opt(Type.String({ pattern: '^rediss?://' })),
  REDIS_KEY_PREFIX: Type.String({ default: '', pattern: '^[A-Za-z0-9:_-]*$' }),
  MASTER_KEY: Opt(Type.String({ pattern: '^[A-Za-z0-9+/]{43}=$' })),
  /** Retired master keys (comma-separated), kept during a rotation until `reseal-secrets` has run. */
  MASTER_KEY_PREVIOUS: Opt(Type.String({ pattern: '^[A-Za-z0-9+/]{43}=(,[A-Za-z0-9+/]{43}=)*$' })),

  OUTBOX_POLL_MS: Int(1000, 10, 60_000),
  OUTBOX_BATCH_SIZE: Int(500, 1, 10_000),
  /** A busy relay's pause between batches, so that it publishes many commits at once. */
  OUTBOX_LINGER_MS: Int(10, 0, 1000),
  /** How long published events stay in the outbox: the window a resuming WebSocket can replay. */
  OUTBOX_RETENTION_HOURS: Int(24, 1, 720),
  /** How long consumers remember the events they applied: longer than any redelivery takes. */
  PROCESSED_EVENTS_RETENTION_DAYS: Int(7, 1, 3650),
  EVENT_MAX_ATTEMPTS: Int(5, 1, 100),
  EVENT_RETRY_BASE_MS: Int(1000, 1, 3_600_000),
  /** A busy consumer's pause between reads, so that it applies events in batches (Redis Streams). */
  EVENT_CONSUMER_LINGER_MS: Int(25, 0, 1000),

  JWT_ISSUER: Type.String({ default: 'tessera', minLength: 1 }),
  JWT_AUDIENCE: Type.String({ default: 'tessera-api', minLength: 1 }),
  ACCESS_TOKEN_TTL: Int(900, 30, 86_400),
  REFRESH_TOKEN_TTL: Int(2_592_000, 60, 31_536_000),
  SESSION_IDLE_TTL: Int(1_209_600, 60, 31_536_000),
  REFRESH_REUSE_GRACE_SECONDS: Int(0, 0, 300),

  SMTP_URL: Opt(Type.String({ pattern: '^smtps?://' })),
  MAIL_FROM: Type.String({ default: 'Tessera <no-reply@tessera.local>', minLength: 3 }),

  RATE_LIMIT_USER_PER_MINUTE: Int(600, 1),
  RATE_LIMIT_IP_PER_MINUTE: Int(1200, 1),
  RATE_LIMIT_TENANT_PER_MINUTE: Int(60_000, 1),
  RATE_LIMIT_REGISTER_PER_HOUR: Int(100, 1),
  RATE_LIMIT_LOGIN_PER_MINUTE: Int(5, 1),
  // Events a tenant's clients may track a minute, counted per event (a batch holds up to 100).
  RATE_LIMIT_TRACKED_EVENTS_PER_MINUTE: Int(6_000, 100),

  REALTIME_AUTH_TIMEOUT_MS: Int(5000, 100, 60_000),
  REALTIME_HEARTBEAT_MS: Int(25_000, 100, 300_000),
  REALTIME_MAX_BUFFERED_BYTES: Int(1_048_576, 1024),
  REALTIME_REPLAY_MAX_EVENTS: Int(1000, 1, 100_000),
  METRICS_TOKEN: Opt(Type.String({ minLength: 16 })),
  GRAPHQL_MAX_DEPTH: Int(8, 2, 50),
  GRAPHQL_MAX_COST: Int(5000, 10, 1_000_000),

  STRIPE_API_BASE: Opt(Url),
  STRIPE_SECRET_KEY: Opt(Type.String({ minLength: 1 })),
  STRIPE_WEBHOOK_SECRET: Opt(Type.String({ minLength: 1 })),
  SQUARE_API_BASE: Opt(Url),
  SQUARE_ACCESS_TOKEN: Opt(Type.String({ minLength: 1 })),
  SQUARE_LOCATION_ID: Opt(Type.String({ minLength: 1 })),
  SQUARE_DEVICE_ID: Opt(Type.String({ minLength: 1 })),
  SQUARE_WEBHOOK_SIGNATURE_KEY: Opt(Type.String({ minLength: 1 })),
  PAYPAL_API_BASE: Opt(Url),
  PAYPAL_CLIENT_ID: Opt(Type.String({ minLength: 1 })),
  PAYPAL_CLIENT_SECRET: Opt(Type.String({ minLength: 1 })),
  PAYPAL_WEBHOOK_ID: Opt(Type.String({ minLength: 1 })),
  GATEWAY_TIMEOUT_MS: Int(10_000, 100, 120_000),

  WEB_DIST_DIR: Opt(Type.String({ minLength: 1 })),
});

export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable} ${message}`);
  }
}

const BOOLEAN_WORDS: Record<string, boolean> = {
  true: true,
  '1': true,
  yes: true,
  false: false,
  '0': false,
  no: false,
};

/**
 * Variables whose value may hold a secret: keys, secrets, tokens, and URLs (which may carry a
 * password). An error about one of them does not repeat the value: it would land in the logs.
 */
const SECRET_VARIABLE = /KEY|SECRET|TOKEN|PASSWORD|_URL$/;

/** The values an enum-like setting (a union of literals) takes, or null for any other schema. */
function allowedValues(schema: TSchema): string[] | null {
  const members = (schema as { anyOf?: { const?: unknown }[] }).anyOf;
  if (!members?.every((member) => typeof member.const === 'string')) return null;
  return members.map((member) => String(member.const));
}

/** Reads the config from an environment (process.env by default); throws ConfigError naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(ConfigSchema.properties)) {
    const value = env[key];
    if (value === undefined || value === '') continue;
    const kind = (schema as { type?: string }).type;
    if (kind === 'integer') {
      if (!/^-?\d+$/.test(value)) throw new ConfigError(key, `must be an integer, got "${value}"`);
      raw[key] = Number(value);
    } else if (kind === 'boolean') {
      const flag = BOOLEAN_WORDS[value.toLowerCase()];
      if (flag === undefined) throw new ConfigError(key, `must be true or false, got "${value}"`);
      raw[key] = flag;
    } else {
      raw[key] = value;
    }
  }
  const config = Value.Default(ConfigSchema, raw) as Config;
  const first = Value.Errors(ConfigSchema, config).First();
  if (first) {
    const variable = first.path.replace(/^\//, '') || 'configuration';
    const given = env[variable];
    const shown = given === undefined || SECRET_VARIABLE.test(variable) ? '' : ` (got "${given}")`;
    const allowed = allowedValues(first.schema);
    throw new ConfigError(
      variable,
      `${allowed ? `must be one of ${allowed.join(', ')}` : first.message}${shown}`,
    );
  }
  if (config.ROLE !== 'all' && !(config.DATABASE_URL && config.REDIS_URL)) {
    throw new ConfigError(
      'ROLE',
      `=${config.ROLE} needs DATABASE_URL and REDIS_URL (separate processes share them)`,
    );
  }
  if (config.NODE_ENV === 'production' && !config.MASTER_KEY) {
    throw new ConfigError('MASTER_KEY', 'is required in production (32 random bytes, base64)');
  }
  return { ...config, DATA_DIR: path.resolve(config.DATA_DIR) };
}

/** A URL setting as it may be shown in an error or a log: its password, in the userinfo or the query, masked. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(an unreadable URL)';
  }
  if (parsed.password) parsed.password = '***';
  for (const name of [...parsed.searchParams.keys()]) {
    if (/password/i.test(name)) parsed.searchParams.set(name, '***');
  }
  return parsed.href;
}

/**
 * Start-up could not reach the service a URL setting names: says which setting and where (its
 * password masked), then the driver's reason, on one line.
 */
export class UnreachableServiceError extends Error {
  constructor(
    readonly variable: string,
    service: string,
    url: string,
    cause: unknown,
  ) {
    super(`cannot connect to ${service} at ${variable}=${redactUrl(url)}: ${reasonOf(cause)}`, { cause });
    this.name = 'UnreachableServiceError';
  }
}

/** An error's message; a connection tried on several addresses (IPv6 and IPv4) fails with an empty one. */
function reasonOf(error: unknown): string {
  if (error instanceof AggregateError && !error.message) return error.errors.map(reasonOf).join('; ');
  return error instanceof Error ? error.message : String(error);
}
