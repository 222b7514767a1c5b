import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabase, type Database } from '../../src/platform/db/database';
import { migrate, readMigrations } from '../../src/platform/db/migrate';
import { TEST_DATABASE_URL } from './services';

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The migrated template's name: it changes whenever a migration does, so templates are never stale. */
export function templateName(): string {
  const hash = createHash('sha256');
  for (const migration of readMigrations()) hash.update(migration.version).update(migration.checksum);
  return `tessera_tpl_${hash.digest('hex').slice(0, 12)}`;
}

/** Creates the migrated template database once (global setup); cloning it makes a fresh database fast. */
export async function ensureTemplate(): Promise<string> {
  const name = templateName();
  await admin(async (client) => {
    await client.query('select pg_advisory_lock(hashtext($1))', [name]);
    try {
      const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
      if (exists.rowCount) return;
      await client.query(`create database ${name}_building`).catch(async () => {
        await client.query(`drop database ${name}_building with (force)`);
        await client.query(`create database ${name}_building`);
      });
      const database = await createDatabase({
        databaseUrl: withDatabase(TEST_DATABASE_URL, `${name}_building`),
        dataDir: '',
        poolSize: 2,
      });
      try {
        await migrate(database);
      } finally {
        await database.close();
      }
      await client.query(`alter database ${name}_building rename to ${name}`);
      await client.query(`alter database ${name} is_template true`);
    } finally {
      await client.query('select pg_advisory_unlock(hashtext($1))', [name]);
    }
  });
  return name;
}

export interface TestDatabase {
  url: string;
  database: Database;
  drop(): Promise<void>;
}

/**
 * An empty database (no migrations applied), for tests of the migrator itself. With `owner`, a new
 * login role that is no superuser (CREATEROLE, as a managed PostgreSQL's owner has) owns it, and the
 * url connects as that role; drop() removes both.
 */
export async function createEmptyDatabase(
  options: { owner?: string } = {},
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tessera_empty_${randomBytes(6).toString('hex')}`;
  const { owner } = options;
  await admin(async (client) => {
    if (owner) await client.query(`create role ${owner} login createrole nosuperuser nobypassrls`);
    await client.query(`create database ${name}${owner ? ` owner ${owner}` : ''}`);
  });
  const url = new URL(withDatabase(TEST_DATABASE_URL, name));
  if (owner) url.username = owner;
  return {
    url: url.toString(),
    drop: () =>
      admin(async (client) => {
        await client.query(`drop database if exists ${name} with (force)`);
        if (owner) await client.query(`drop role if exists ${owner}`);
      }),
  };
}

/** A fresh, migrated database of its own for one test file, cloned from the template. */
export async function createTestDatabase(options: { poolSize?: number } = {}): Promise<TestDatabase> {
  const template = await ensureTemplate();
  const name = `tessera_test_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`create database ${name} template ${template}`));
  const url = withDatabase(TEST_DATABASE_URL, name);
  const database = await createDatabase({ databaseUrl: url, dataDir: '', poolSize: options.poolSize ?? 10 });
  return {
    url,
    database,
    async drop() {
      await database.close();
      await admin((client) => client.query(`drop database if exists ${name} with (force)`));
    },
  };
}
