import { randomBytes } from 'node:crypto';
import { uuidv7 } from '@tessera/contracts';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { serviceAvailable } from '../../../test/support/services';
import { createDatabase, createMemoryPGlite, type Database } from './database';
import { migrate } from './migrate';
import { withSystem, withTenant } from './tenant';

/**
 * Row-level security at the SQL level: inside withTenant a query with no tenant filter at all
 * sees only its tenant's rows, and writing a row for another tenant fails. Same on both engines.
 */
function rlsSuite(
  engine: string,
  open: () => Promise<{ database: Database; close(): Promise<void> }>,
  enabled: boolean,
) {
  describe.runIf(enabled)(`row-level security on ${engine}`, () => {
    let database: Database;
    let close: (() => Promise<void>) | undefined;
    const tenantA = uuidv7();
    const tenantB = uuidv7();

    beforeAll(async () => {
      const opened = await open();
      database = opened.database;
      close = () => opened.close();
      await withSystem(database.db, async (tx) => {
        await tx
          .insertInto('tenants')
          .values([
            { id: tenantA, name: 'A' },
            { id: tenantB, name: 'B' },
          ])
          .execute();
        for (const tenant of [tenantA, tenantB]) {
          await tx
            .insertInto('outbox_events')
            .values({
              id: uuidv7(),
              tenant_id: tenant,
              type: 'auth.user.created',
              stream: 'events:auth',
              payload: '{}',
            })
            .execute();
        }
      });
    });

    afterAll(async () => {
      await close?.();
    });

    it('an unfiltered select sees only the current tenant', async () => {
      const rows = await withTenant(database.db, tenantA, (tx) =>
        tx.selectFrom('outbox_events').select('tenant_id').execute(),
      );
      expect(rows).toEqual([{ tenant_id: tenantA }]);
      const tenants = await withTenant(database.db, tenantB, (tx) =>
        tx.selectFrom('tenants').select('id').execute(),
      );
      expect(tenants).toEqual([{ id: tenantB }]);
    });

    it('refuses to insert a row for another tenant', async () => {
      await expect(
        withTenant(database.db, tenantA, (tx) =>
          tx
            .insertInto('outbox_events')
            .values({
              id: uuidv7(),
              tenant_id: tenantB,
              type: 'auth.user.created',
              stream: 'events:auth',
              payload: '{}',
            })
            .execute(),
        ),
      ).rejects.toThrow(/row-level security/);
    });

    it("cannot update or delete another tenant's rows", async () => {
      const updated = await withTenant(database.db, tenantA, (tx) =>
        tx.updateTable('tenants').set({ name: 'taken' }).where('id', '=', tenantB).executeTakeFirst(),
      );
      expect(Number(updated.numUpdatedRows)).toBe(0);
      const deleted = await withTenant(database.db, tenantA, (tx) =>
        tx.deleteFrom('outbox_events').where('tenant_id', '=', tenantB).executeTakeFirst(),
      );
      expect(Number(deleted.numDeletedRows)).toBe(0);
    });

    it('sees nothing when no tenant is set on the restricted role', async () => {
      const rows = await database.db.transaction().execute(async (tx) => {
        await sql`set local role tessera_app`.execute(tx);
        return tx.selectFrom('outbox_events').select('id').execute();
      });
      expect(rows).toEqual([]);
    });

    it('the tenant setting does not outlive its transaction', async () => {
      await withTenant(database.db, tenantA, async () => undefined);
      const setting = await sql<{
        value: string | null;
      }>`select current_setting('app.tenant_id', true) as value`.execute(database.db);
      expect(setting.rows[0]?.value ?? '').toBe('');
    });

    it('system work, as the owner, sees every tenant', async () => {
      const rows = await withSystem(database.db, (tx) =>
        tx
          .selectFrom('outbox_events')
          .select('tenant_id')
          .where('tenant_id', 'in', [tenantA, tenantB])
          .execute(),
      );
      expect(rows.map((row) => row.tenant_id).sort()).toEqual([tenantA, tenantB].sort());
    });

    it('every table with a tenant_id column enables row-level security with a policy, unforced for its owner', async () => {
      const result = await sql<{ table_name: string; forced: boolean; enabled: boolean; policies: number }>`
        select c.relname as table_name, c.relforcerowsecurity as forced, c.relrowsecurity as enabled,
               (select count(*) from pg_policies p where p.tablename = c.relname)::int as policies
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
        where c.relkind in ('r', 'p')
          and not c.relispartition
          and exists (select 1 from information_schema.columns col
                      where col.table_schema = 'public' and col.table_name = c.relname and col.column_name = 'tenant_id')
      `.execute(database.db);
      expect(result.rows.length).toBeGreaterThan(0);
      for (const row of result.rows) {
        expect({
          table: row.table_name,
          enabled: row.enabled,
          forced: row.forced,
          has_policy: row.policies > 0,
        }).toEqual({
          table: row.table_name,
          enabled: true,
          forced: false,
          has_policy: true,
        });
      }
    });

    it('the application role cannot bypass row-level security', async () => {
      const result = await sql<{ rolbypassrls: boolean; rolsuper: boolean }>`
        select rolbypassrls, rolsuper from pg_roles where rolname = 'tessera_app'`.execute(database.db);
      expect(result.rows[0]).toEqual({ rolbypassrls: false, rolsuper: false });
    });
  });
}

const postgresUp = await serviceAvailable('postgres');
let testDatabase: TestDatabase;
rlsSuite(
  'PostgreSQL',
  async () => {
    testDatabase = await createTestDatabase();
    return { database: testDatabase.database, close: () => testDatabase.drop() };
  },
  postgresUp,
);
// A managed PostgreSQL: the application connects as the owner of its database, who is no
// superuser (only a member of tessera_app, which it may grant itself with CREATEROLE).
rlsSuite(
  'PostgreSQL owned by a non-superuser',
  async () => {
    const owner = `tessera_owner_${randomBytes(4).toString('hex')}`;
    const empty = await createEmptyDatabase({ owner });
    const database = await createDatabase({ databaseUrl: empty.url, dataDir: '', poolSize: 2 });
    await migrate(database);
    return {
      database,
      close: async () => {
        await database.close();
        await empty.drop();
      },
    };
  },
  postgresUp,
);
rlsSuite(
  'PGlite',
  async () => {
    const database = await createMemoryPGlite();
    await migrate(database);
    return { database, close: () => database.close() };
  },
  true,
);
