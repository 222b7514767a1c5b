import pino from 'pino';
import { ROLES, isRole } from '@tessera/contracts';
import { createModules, type Modules } from '../modules';
import { AppError } from '../platform/errors';
import type { Config } from '../platform/config';
import { createDatabase } from '../platform/db/database';
import { migrate } from '../platform/db/migrate';
import { replayDeadLetters } from '../platform/events/dead-letters';
import { createPlatform, type Platform } from '../platform/platform';
import { startServer } from '../server';
import { parseOptions, requireEmailOption, requireOption, UsageError } from './args';
import { seedDemo } from './seed-demo';

export interface CliOutput {
  log(line: string): void;
  error(line: string): void;
  /** Rewrites one status line in place (a terminal's progress bar); optional. */
  progress?(line: string): void;
}

const terminal: CliOutput = {
  log: (line) => console.log(line),
  error: (line) => console.error(line),
  progress: (line) => void process.stderr.write(process.stderr.isTTY ? `\r${line}` : `${line}\n`),
};

interface Command {
  summary: string;
  usage?: string;
  run(config: Config, options: Record<string, string | true>, out: CliOutput): Promise<void>;
}

/** Runs work with the platform (database, Redis, bus), the modules, and their consumers registered. */
async function withPlatform<T>(
  config: Config,
  work: (platform: Platform, modules: Modules) => Promise<T>,
): Promise<T> {
  const platform = await createPlatform(
    config,
    pino({ level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL }),
  );
  try {
    const modules = createModules(platform);
    for (const module of modules.list) {
      for (const consumer of module.consumers ?? []) platform.bus.register(consumer);
    }
    await modules.services.signingKeys.init();
    return await work(platform, modules);
  } finally {
    await platform.close();
  }
}

const text = (options: Record<string, string | true>, name: string): string | undefined => {
  const value = options[name];
  return typeof value === 'string' ? value : undefined;
};

function rolesOption(options: Record<string, string | true>): string[] {
  const roles = (text(options, 'roles') ?? 'staff').split(',').map((role) => role.trim());
  if (roles.some((role) => !isRole(role)))
    throw new UsageError(`--roles takes a comma list of ${ROLES.join(', ')}`);
  return roles;
}

function wholeNumber(options: Record<string, string | true>, name: string, fallback: number): number {
  const raw = text(options, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`--${name} takes a whole number above 0`);
  return Number(raw);
}

/** Operator errors (an email taken, a weak password) are shown as their code and detail, not a stack. */
async function operator<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppError) throw new UsageError(`${error.code}: ${error.message}`);
    throw error;
  }
}

function progressBar(out: CliOutput): (done: number, total: number) => void {
  let last = -1;
  return (done, total) => {
    const percent = Math.floor((done / total) * 100);
    if (percent === last) return;
    last = percent;
    const filled = Math.round(percent / 4);
    out.progress?.(`[${'#'.repeat(filled)}${' '.repeat(25 - filled)}] ${percent}% (${done}/${total} orders)`);
  };
}

export const COMMANDS: Record<string, Command> = {
  start: {
    summary: 'run the platform (ROLE decides: HTTP API, event worker, or both)',
    async run(config) {
      await startServer(config);
    },
  },
  migrate: {
    summary: 'apply pending database migrations',
    async run(config, _options, out) {
      const database = await createDatabase({
        ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
        dataDir: config.DATA_DIR,
        poolSize: 2,
      });
      try {
        const applied = await migrate(database);
        out.log(applied.length ? `applied ${applied.join(', ')}` : 'the database is up to date');
      } finally {
        await database.close();
      }
    },
  },
  'create-tenant': {
    summary: 'create a tenant with its first admin',
    usage: '--name "Shop name" --email EMAIL --password PASSWORD [--owner "Full name"]',
    async run(config, options, out) {
      const answer = await withPlatform(config, (_platform, modules) =>
        operator(() =>
          modules.services.auth.register(
            {
              email: requireEmailOption(options, 'email'),
              password: requireOption(options, 'password'),
              name: text(options, 'owner') ?? 'Owner',
              tenant_name: requireOption(options, 'name'),
            },
            { ip: 'cli', userAgent: 'tessera create-tenant' },
          ),
        ),
      );
      out.log(
        `created tenant ${answer.tenant.id} (${answer.tenant.name}); admin ${answer.user.email} is ${answer.user.id}`,
      );
    },
  },
  'create-user': {
    summary: 'add a user with roles to a tenant (creating the identity if new)',
    usage: '--tenant TENANT_ID --email EMAIL --name "Full name" --password PASSWORD [--roles staff,manager]',
    async run(config, options, out) {
      const roles = rolesOption(options);
      const input = {
        email: requireEmailOption(options, 'email'),
        name: requireOption(options, 'name'),
        password: requireOption(options, 'password'),
        roles,
      };
      const tenantId = requireOption(options, 'tenant');
      const added = await withPlatform(config, (_platform, modules) =>
        operator(() => modules.services.auth.addMember(tenantId, input)),
      );
      out.log(
        added.created
          ? `created user ${added.user_id} with roles ${roles.join(', ')}`
          : `added existing user ${added.user_id} with roles ${roles.join(', ')}; its password is unchanged (--password was not used)`,
      );
    },
  },
  'rotate-keys': {
    summary: 'sign access tokens with a new key (the old one stays published until its tokens expire)',
    async run(config, _options, out) {
      const kid = await withPlatform(config, (_platform, modules) => modules.services.signingKeys.rotate());
      // Processes re-read their keys every minute: until then they sign with the old one.
      out.log(`signing with new key ${kid}; running processes switch to it within a minute`);
    },
  },
  'reseal-secrets': {
    summary:
      'seal every secret at rest under MASTER_KEY (after a rotation, before dropping MASTER_KEY_PREVIOUS)',
    async run(config, _options, out) {
      const moved = await withPlatform(config, async (_platform, modules) => ({
        keys: await modules.services.signingKeys.resealPrivateKeys(),
        gateways: await modules.services.payments.resealGatewaySecrets(),
        successors: await modules.services.auth.resealRefreshSuccessors(),
      }));
      out.log(
        `resealed ${moved.keys} signing keys, ${moved.gateways} gateway accounts and ${moved.successors} refresh successors under the current master key`,
      );
    },
  },
  reconcile: {
    summary: 'settle payments of unknown outcome; with --gateway, compare a period with the gateway',
    usage: '[--tenant TENANT_ID --gateway stripe|square|paypal --from ISO_DATE --to ISO_DATE]',
    async run(config, options, out) {
      const gateway = text(options, 'gateway');
      if (gateway !== undefined && gateway !== 'stripe' && gateway !== 'square' && gateway !== 'paypal') {
        throw new UsageError('--gateway takes stripe, square or paypal');
      }
      const period = gateway
        ? {
            tenantId: requireOption(options, 'tenant'),
            from: requireOption(options, 'from'),
            to: requireOption(options, 'to'),
          }
        : null;
      await withPlatform(config, async (_platform, modules) => {
        const settled = await modules.services.payments.settleUnknown();
        out.log(`settled ${settled} payment${settled === 1 ? '' : 's'} of unknown outcome`);
        if (!gateway || !period) return;
        const run = await operator(() =>
          modules.services.payments.reconcile(
            { tenantId: period.tenantId, userId: null },
            { gateway, from: period.from, to: period.to },
          ),
        );
        out.log(JSON.stringify(run, null, 2));
      });
    },
  },
  'seed-demo': {
    summary: 'create a demo tenant with products, stock and days of paid orders',
    usage: '[--email EMAIL] [--password PASSWORD] [--days 90] [--orders-per-day 20]',
    async run(config, options, out) {
      const email = text(options, 'email') ?? `demo-${Date.now()}@tessera.local`;
      const password = text(options, 'password') ?? 'demo shop password';
      const days = wholeNumber(options, 'days', 90);
      const ordersPerDay = wholeNumber(options, 'orders-per-day', 20);
      const result = await withPlatform(config, (platform, modules) =>
        operator(() =>
          seedDemo(platform, modules, { email, password, days, ordersPerDay, onProgress: progressBar(out) }),
        ),
      );
      out.log(
        `seeded tenant ${result.tenantId} with ${result.orders} paid orders; sign in as ${email} / ${password}`,
      );
    },
  },
  'replay-dead-letters': {
    summary: 'republish events that consumers gave up on (after fixing the cause)',
    usage: '[--consumer NAME]',
    async run(config, options, out) {
      const consumer = typeof options.consumer === 'string' ? options.consumer : undefined;
      const { replayed } = await withPlatform(config, (platform) =>
        replayDeadLetters(platform.db, platform.bus, consumer ? { consumer } : {}),
      );
      out.log(`replayed ${replayed} dead letter${replayed === 1 ? '' : 's'}`);
    },
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return [
    'usage: tessera <command> [options]',
    '',
    ...Object.entries(COMMANDS).map(
      ([name, command]) =>
        `  ${name.padEnd(width)}  ${command.summary}${command.usage ? `  ${command.usage}` : ''}`,
    ),
  ].join('\n');
}

/** Runs one command; returns the process exit code (2 for a usage error). */
export async function runCli(argv: string[], config: Config, out: CliOutput = terminal): Promise<number> {
  const [name = 'start', ...rest] = argv;
  if (name === 'help' || name === '--help') {
    out.log(usage());
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    out.error(`unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    await command.run(config, parseOptions(rest), out);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      out.error(
        `tessera ${name}: ${error.message}${command.usage ? `\nusage: tessera ${name} ${command.usage}` : ''}`,
      );
      return 2;
    }
    throw error;
  }
}
