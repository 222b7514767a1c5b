import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Database } from './database';

export interface Migration {
  version: string;
  sql: string;
  checksum: string;
}

/**
 * The first line that lets a migration run outside a transaction, for the one statement that
 * cannot run inside one: `CREATE INDEX CONCURRENTLY`, which builds an index without blocking writes.
 */
export const NO_TRANSACTION = '-- migrate: no transaction';

/** db/migrations at the repository's root, found from wherever this code runs (source or bundle). */
export function defaultMigrationsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'db', 'migrations');
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('db/migrations not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export function readMigrations(dir = defaultMigrationsDir()): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      return {
        version: file.replace(/\.sql$/, ''),
        sql: text,
        checksum: createHash('sha256').update(text).digest('hex'),
      };
    });
}

/**
 * Applies the migrations not yet applied, each in its own transaction, holding an advisory lock
 * so that processes starting together migrate once. Migrations are append-only: an applied file
 * whose text changed stops the run. A migration that starts with NO_TRANSACTION runs its single
 * statement on its own, then is recorded; if the statement fails, nothing is recorded, and a
 * failed `CREATE INDEX CONCURRENTLY` leaves an invalid index to drop before the next run.
 */
export async function migrate(database: Database, migrations = readMigrations()): Promise<string[]> {
  return database.withAdvisoryLock('tessera.migrate', async (db) => {
    await sql`create table if not exists schema_migrations (
      version text primary key,
      checksum text not null,
      applied_at timestamptz not null default now()
    )`.execute(db);
    const applied = new Map(
      (await db.selectFrom('schema_migrations').select(['version', 'checksum']).execute()).map((row) => [
        row.version,
        row.checksum,
      ]),
    );
    const done: string[] = [];
    for (const migration of migrations) {
      const checksum = applied.get(migration.version);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) {
          throw new Error(
            `Migration ${migration.version} changed after it was applied; add a new migration instead`,
          );
        }
        continue;
      }
      const record = { version: migration.version, checksum: migration.checksum };
      if (migration.sql.startsWith(NO_TRANSACTION)) {
        await sql.raw(migration.sql).execute(db);
        await db.insertInto('schema_migrations').values(record).execute();
      } else {
        await db.transaction().execute(async (tx) => {
          await sql.raw(migration.sql).execute(tx);
          await tx.insertInto('schema_migrations').values(record).execute();
        });
      }
      done.push(migration.version);
    }
    return done;
  });
}
