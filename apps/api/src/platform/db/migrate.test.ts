import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { uuidv7 } from '@tessera/contracts';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createEmptyDatabase } from '../../../test/support/database';
import { serviceAvailable } from '../../../test/support/services';
import { createDatabase, writeEmbeddedTemplate } from './database';
import { migrate, NO_TRANSACTION, readMigrations } from './migrate';
import { withSystem, withTenant } from './tenant';

const postgresUp = await serviceAvailable('postgres');

describe.runIf(postgresUp)('migrations on PostgreSQL', () => {
  it('two processes starting at once migrate once', async () => {
    const empty = await createEmptyDatabase();
    const first = await createDatabase({ databaseUrl: empty.url, dataDir: '', poolSize: 2 });
    const second = await createDatabase({ databaseUrl: empty.url, dataDir: '', poolSize: 2 });
    try {
      const [a, b] = await Promise.all([migrate(first), migrate(second)]);
      const all = readMigrations().map((migration) => migration.version);
      expect([...a, ...b].sort()).toEqual(all.sort());
      const rows = await first.db.selectFrom('schema_migrations').select('version').execute();
      expect(rows.map((row) => row.version).sort()).toEqual(all.sort());
      expect(await migrate(first)).toEqual([]);
    } finally {
      await first.close();
      await second.close();
      await empty.drop();
    }
  });

  it('moves order numbering to sequences without reusing a number', async () => {
    const empty = await createEmptyDatabase();
    const database = await createDatabase({ databaseUrl: empty.url, dataDir: '', poolSize: 2 });
    const [numbered, fresh] = [uuidv7(), uuidv7()];
    try {
      const migrations = readMigrations();
      await migrate(
        database,
        migrations.filter((migration) => migration.version < '0006'),
      );
      await sql`insert into tenants (id, name) values (${numbered}, 'Numbered'), (${fresh}, 'Fresh')`.execute(
        database.db,
      );
      await sql`insert into order_counters (tenant_id, last_number) values (${numbered}, 41)`.execute(
        database.db,
      );
      await migrate(database, migrations);
      const next = (tenantId: string) =>
        withTenant(
          database.db,
          tenantId,
          async (tx) => (await sql<{ n: number }>`select next_order_number() as n`.execute(tx)).rows[0]!.n,
        );
      expect(await next(numbered)).toBe(42);
      expect(await next(fresh)).toBe(1);
    } finally {
      await database.close();
      await empty.drop();
    }
  });

  it('runs a migration marked to run outside a transaction: an index built concurrently', async () => {
    const empty = await createEmptyDatabase();
    const database = await createDatabase({ databaseUrl: empty.url, dataDir: '', poolSize: 2 });
    try {
      const concurrently = (version: string, statement: string) => {
        const text = `${NO_TRANSACTION}\n${statement}\n`;
        return { version, sql: text, checksum: createHash('sha256').update(text).digest('hex') };
      };
      const migrations = [
        ...readMigrations(),
        concurrently('9998_index_concurrently', 'CREATE INDEX CONCURRENTLY tenants_name ON tenants (name);'),
      ];
      expect(await migrate(database, migrations)).toContain('9998_index_concurrently');
      const index = await sql<{ valid: boolean }>`
        select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid
        where c.relname = 'tenants_name'`.execute(database.db);
      expect(index.rows).toEqual([{ valid: true }]);
      // Inside a transaction the same statement is refused, as PostgreSQL refuses it.
      const inTransaction = [
        {
          ...migrations.at(-1)!,
          version: '9999_in_a_transaction',
          sql: 'CREATE INDEX CONCURRENTLY tenants_created ON tenants (created_at);',
        },
      ];
      await expect(migrate(database, inTransaction)).rejects.toThrow(/cannot run inside a transaction block/);
    } finally {
      await database.close();
      await empty.drop();
    }
  });

  it('refuses a migration whose text changed after it was applied', async () => {
    const empty = await createEmptyDatabase();
    const database = await createDatabase({ databaseUrl: empty.url, dataDir: '', poolSize: 2 });
    try {
      const migrations = readMigrations();
      await migrate(database, migrations);
      const edited = migrations.map((migration, index) =>
        index === 0 ? { ...migration, checksum: 'edited' } : migration,
      );
      await expect(migrate(database, edited)).rejects.toThrow(/changed after it was applied/);
    } finally {
      await database.close();
      await empty.drop();
    }
  });
});

describe('the embedded database', () => {
  it("starts from the build's migrated template, and keeps what it stores", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-template-'));
    const template = path.join(dir, 'template.tar.gz');
    const dataDir = path.join(dir, 'data');
    const tenantId = uuidv7();
    try {
      await writeEmbeddedTemplate(template, (database) => migrate(database));
      const first = await createDatabase({ dataDir, poolSize: 1, embeddedTemplate: template });
      expect(await migrate(first)).toEqual([]);
      await withSystem(first.db, (tx) =>
        tx.insertInto('tenants').values({ id: tenantId, name: 'From the template' }).execute(),
      );
      await first.close();
      // Started again, it opens its own data, not the template.
      const second = await createDatabase({ dataDir, poolSize: 1, embeddedTemplate: template });
      const row = await second.db
        .selectFrom('tenants')
        .select('name')
        .where('id', '=', tenantId)
        .executeTakeFirst();
      expect(row).toEqual({ name: 'From the template' });
      await second.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('keeps its data across a restart', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-pglite-'));
    const tenantId = uuidv7();
    try {
      const first = await createDatabase({ dataDir, poolSize: 1 });
      await migrate(first);
      await withSystem(first.db, (tx) =>
        tx.insertInto('tenants').values({ id: tenantId, name: 'Kept' }).execute(),
      );
      await first.close();

      const second = await createDatabase({ dataDir, poolSize: 1 });
      expect(await migrate(second)).toEqual([]);
      // Another process holds it now: a second opener is refused rather than corrupting the files.
      const holder = String(process.ppid);
      const lockFile = path.join(dataDir, 'pglite.pid');
      fs.writeFileSync(lockFile, holder);
      await expect(createDatabase({ dataDir, poolSize: 1 })).rejects.toThrow(`in use by process ${holder}`);
      fs.writeFileSync(lockFile, String(process.pid));
      const row = await second.db
        .selectFrom('tenants')
        .select('name')
        .where('id', '=', tenantId)
        .executeTakeFirst();
      expect(row).toEqual({ name: 'Kept' });
      await second.close();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    // PGlite's initdb and every migration run in WebAssembly: tens of seconds on a loaded machine.
  }, 120_000);
});
