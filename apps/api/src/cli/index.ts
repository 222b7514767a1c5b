import pino from 'pino';
import { createModules } from '../modules';
import type { Config } from '../platform/config';
import { createDatabase } from '../platform/db/database';
import { migrate } from '../platform/db/migrate';
import { replayDeadLetters } from '../platform/events/dead-letters';
import { createPlatform, type Platform } from '../platform/platform';
import { startServer } from '../server';
import { parseOptions, UsageError } from './args';

export interface CliOutput {
  log(line: string): void;
  error(line: string): void;
}

interface Command {
  summary: string;
  usage?: string;
  run(config: Config, options: Record<string, string | true>, out: CliOutput): Promise<void>;
}

/** Runs work with the platform (database, Redis, bus) and every module's consumers registered. */
async function withPlatform<T>(config: Config, work: (platform: Platform) => Promise<T>): Promise<T> {
  const platform = await createPlatform(
    config,
    pino({ level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL }),
  );
  try {
    for (const module of createModules(platform).list) {
      for (const consumer of module.consumers ?? []) platform.bus.register(consumer);
    }
    return await work(platform);
  } finally {
    await platform.close();
  }
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
export async function runCli(argv: string[], config: Config, out: CliOutput = console): Promise<number> {
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
