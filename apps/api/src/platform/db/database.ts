import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import { tuneClient, StatementNames } from './pg-client';
import { PGliteDialect } from './pglite-dialect';
import type { DB } from './tables';

/** int8 and numeric as JS numbers: money is integer minor units, far below 2^53. */
const toNumber = (value: string) => Number(value);
const asText = (value: string) => value;
const PG_TYPE = { int8: 20, numeric: 1700, date: 1082 } as const;
const PGLITE_PARSERS = { [PG_TYPE.int8]: toNumber, [PG_TYPE.numeric]: toNumber, [PG_TYPE.date]: asText };

export interface Leadership {
  /** Resolves when the lock is lost (its connection died); the holder must stop. */
  readonly lost: Promise<void>;
  release(): Promise<void>;
}

export interface Database {
  readonly kind: 'postgres' | 'pglite';
  readonly db: Kysely<DB>;
  /** Calls onNotify for every NOTIFY on channel (delivered on commit); returns the unsubscribe. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** Tries to take a session-level advisory lock held for as long as the process lives. */
  tryLeadership(lockKey: string): Promise<Leadership | null>;
  /** Runs work while holding an advisory lock (waits for it), e.g. so that one process migrates. */
  withAdvisoryLock<T>(lockKey: string, work: (db: Kysely<DB>) => Promise<T>): Promise<T>;
  poolStats(): { total: number; idle: number; waiting: number };
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl?: string;
  dataDir: string;
  poolSize: number;
  logger?: Logger;
  /** A migrated PGlite data directory (gzipped tarball) a new embedded database starts from. */
  embeddedTemplate?: string;
}

/** How long a process waits before asking again for an advisory lock another holds. */
const ADVISORY_LOCK_RETRY_MS = 100;

/** Where the build leaves the embedded database's template: beside the bundle. */
export const EMBEDDED_TEMPLATE_FILE = 'pglite-template.tar.gz';
const bundledTemplate = () => path.join(path.dirname(fileURLToPath(import.meta.url)), EMBEDDED_TEMPLATE_FILE);

export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  return options.databaseUrl
    ? createPostgresDatabase(options.databaseUrl, options.poolSize, options.logger)
    : createPGliteDatabase(options.dataDir, options.embeddedTemplate ?? bundledTemplate());
}

function pgTypes(): pg.CustomTypesConfig {
  return {
    getTypeParser: ((oid: number, format?: string) => {
      if (oid === PG_TYPE.int8 || oid === PG_TYPE.numeric) return toNumber;
      if (oid === PG_TYPE.date) return asText;
      return pg.types.getTypeParser(oid, format as 'text') as (value: string) => unknown;
    }) as pg.CustomTypesConfig['getTypeParser'],
  };
}

function createPostgresDatabase(url: string, poolSize: number, logger?: Logger): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    types: pgTypes(),
    idleTimeoutMillis: 30_000,
  });
  pool.on('error', (error) => logger?.error({ err: error }, 'idle database connection failed'));
  const statementNames = new StatementNames();
  pool.on('connect', (client) => tuneClient(client, statementNames));
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  const dedicated = async () => {
    const client = new pg.Client({ connectionString: url, types: pgTypes() });
    client.on('error', (error) => logger?.warn({ err: error }, 'dedicated database connection failed'));
    await client.connect();
    return client;
  };

  return {
    kind: 'postgres',
    db,
    async listen(channel, onNotify) {
      const client = await dedicated();
      client.on('notification', (message) => {
        if (message.channel === channel) onNotify(message.payload ?? '');
      });
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      return async () => {
        await client.end().catch(() => undefined);
      };
    },
    async tryLeadership(lockKey) {
      const client = await dedicated();
      const { rows } = await client.query<{ locked: boolean }>(
        'select pg_try_advisory_lock(hashtextextended($1, 0)) as locked',
        [lockKey],
      );
      if (!rows[0]?.locked) {
        await client.end();
        return null;
      }
      const lost = new Promise<void>((resolve) => {
        client.once('end', resolve);
        client.once('error', () => resolve());
      });
      return {
        lost,
        release: async () => {
          await client.end().catch(() => undefined);
        },
      };
    },
    async withAdvisoryLock(lockKey, work) {
      return db.connection().execute(async (connection) => {
        // Asked for again and again rather than waited for in pg_advisory_lock: a session waiting
        // there is inside a statement, and `CREATE INDEX CONCURRENTLY` in the holder's migration
        // waits for every statement older than its snapshot to end: a deadlock.
        for (;;) {
          const { rows } = await sql<{ locked: boolean }>`
            select pg_try_advisory_lock(hashtextextended(${lockKey}, 0)) as locked`.execute(connection);
          if (rows[0]!.locked) break;
          await new Promise((resolve) => setTimeout(resolve, ADVISORY_LOCK_RETRY_MS));
        }
        try {
          return await work(connection);
        } finally {
          await sql`select pg_advisory_unlock(hashtextextended(${lockKey}, 0))`.execute(connection);
        }
      });
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}

/**
 * PGlite's files must have one process at a time: a second one (a CLI command while the server
 * runs) would corrupt them. A pid file refuses it, and a stale one (its process gone) is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const lockFile = path.join(dataDir, 'pglite.pid');
  try {
    const holder = Number(fs.readFileSync(lockFile, 'utf8'));
    if (holder && holder !== process.pid && processAlive(holder)) {
      throw new Error(
        `The embedded database in ${dataDir} is in use by process ${holder}; stop it first, or set DATABASE_URL`,
      );
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  fs.writeFileSync(lockFile, String(process.pid));
  return () => fs.rmSync(lockFile, { force: true });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The embedded database in dataDir. A new one starts from the build's template when there is one
 * (a migrated data directory: loading it takes a fraction of a second, where initdb takes seconds).
 */
async function createPGliteDatabase(dataDir: string, template: string): Promise<Database> {
  fs.mkdirSync(dataDir, { recursive: true });
  const unlock = lockDataDir(dataDir);
  const target = path.join(dataDir, 'pglite');
  let loadDataDir: Blob | undefined;
  if (!fs.existsSync(path.join(target, 'PG_VERSION')) && fs.existsSync(template)) {
    // Whatever an interrupted first start left is replaced.
    fs.rmSync(target, { recursive: true, force: true });
    loadDataDir = new Blob([fs.readFileSync(template)]);
  }
  const pglite = await PGlite.create(target, {
    parsers: PGLITE_PARSERS,
    ...(loadDataDir ? { loadDataDir } : {}),
  });
  return wrapPGlite(pglite, unlock);
}

/** Writes a migrated embedded database, as a gzipped tarball, to `file`: the build's template. */
export async function writeEmbeddedTemplate(
  file: string,
  migrateDatabase: (database: Database) => Promise<unknown>,
): Promise<void> {
  const pglite = await PGlite.create({ parsers: PGLITE_PARSERS });
  const database = wrapPGlite(pglite);
  try {
    await migrateDatabase(database);
    const dump = await pglite.dumpDataDir('gzip');
    fs.writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  } finally {
    await database.close();
  }
}

/** An in-memory PGlite, for tests of the embedded path. */
export async function createMemoryPGlite(): Promise<Database> {
  const pglite = await PGlite.create({ parsers: PGLITE_PARSERS });
  return wrapPGlite(pglite);
}

function wrapPGlite(pglite: PGlite, onClose: () => void = () => undefined): Database {
  const db = new Kysely<DB>({ dialect: new PGliteDialect(pglite) });
  let closed = false;
  return {
    kind: 'pglite',
    db,
    async listen(channel, onNotify) {
      return pglite.listen(channel, onNotify);
    },
    // One process owns an embedded database, so it always leads.
    async tryLeadership() {
      return { lost: new Promise<void>(() => undefined), release: async () => undefined };
    },
    async withAdvisoryLock(_lockKey, work) {
      return work(db);
    },
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
      onClose();
    },
  };
}
