import { uuidv7 } from '@tessera/contracts';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { serviceAvailable } from '../../../test/support/services';
import { COMMITS_TRANSACTION, PLAN_EACH_TIME, StatementNames, tuneClient } from './pg-client';
import type { DB } from './tables';
import { withSystem, withTenant, withTenantRead } from './tenant';

const postgresUp = await serviceAvailable('postgres');

describe.runIf(postgresUp)('the tuned PostgreSQL client', () => {
  let testDatabase: TestDatabase;
  const tenantId = uuidv7();

  beforeAll(async () => {
    // One connection: every statement below runs on the same one.
    testDatabase = await createTestDatabase({ poolSize: 1 });
    await withSystem(testDatabase.database.db, (tx) =>
      tx.insertInto('tenants').values({ id: tenantId, name: 'Tuned' }).execute(),
    );
  });

  afterAll(async () => {
    await testDatabase?.drop();
  });

  /** The tenant setting a statement outside any tenant transaction sees: none, if nothing leaked. */
  async function tenantSettingOutside(db: Kysely<DB>): Promise<string> {
    const { rows } = await sql<{
      tenant: string | null;
    }>`select current_setting('app.tenant_id', true) as tenant`.execute(db);
    return rows[0]!.tenant ?? '';
  }

  /** A Kysely handle on one tuned connection of its own, counting its round trips. */
  function countedDatabase(): { db: Kysely<DB>; roundTrips: () => number; notices: string[] } {
    const pool = new pg.Pool({ connectionString: testDatabase.url, max: 1 });
    const names = new StatementNames();
    let trips = 0;
    const notices: string[] = [];
    pool.on('connect', (client) => {
      tuneClient(client, names);
      (client as unknown as { connection: pg.Connection }).connection.on('readyForQuery', () => trips++);
      client.on('notice', (notice) => notices.push(notice.message ?? notice.name));
    });
    return {
      db: new Kysely<DB>({ dialect: new PostgresDialect({ pool }) }),
      roundTrips: () => trips,
      notices,
    };
  }

  describe('round trips', () => {
    let counted: ReturnType<typeof countedDatabase>;
    const tripsOf = async (work: () => Promise<unknown>) => {
      const before = counted.roundTrips();
      await work();
      return counted.roundTrips() - before;
    };
    const tenantName = (tx: Parameters<Parameters<typeof withTenant>[2]>[0]) =>
      tx.selectFrom('tenants').select('name').where('id', '=', tenantId).executeTakeFirstOrThrow();

    beforeEach(async () => {
      counted = countedDatabase();
      // Prepared on the connection, as a running process's statements are.
      for (let n = 0; n < 4; n++) await withTenantRead(counted.db, tenantId, tenantName);
    });
    afterEach(async () => {
      await counted.db.destroy();
    });

    it('a read-only tenant transaction costs one round trip a statement, none to open or commit', async () => {
      expect(await tripsOf(() => withTenantRead(counted.db, tenantId, tenantName))).toBe(1);
      expect(
        await tripsOf(() =>
          withTenantRead(counted.db, tenantId, async (tx) => {
            await tenantName(tx);
            await tenantName(tx);
          }),
        ),
      ).toBe(2);
    });

    it('a read-only tenant transaction draws no warning (PostgreSQL would log each one)', async () => {
      await withTenantRead(counted.db, tenantId, tenantName);
      expect(counted.notices).toEqual([]);
    });

    it('a tenant transaction sends BEGIN and its settings with its first statement', async () => {
      expect(await tripsOf(() => withTenant(counted.db, tenantId, tenantName))).toBe(2);
    });

    it('a statement marked as the last one commits the transaction in its own round trip', async () => {
      const rename = (name: string) =>
        withTenant(counted.db, tenantId, async (tx) => {
          await tenantName(tx);
          await tx
            .updateTable('tenants')
            .set({ name })
            .where('id', '=', tenantId)
            .modifyEnd(sql.raw(COMMITS_TRANSACTION))
            .execute();
        });
      expect(await tripsOf(() => rename('Committed'))).toBe(2);
      expect((await tenantName(counted.db as never)).name).toBe('Committed');
      await rename('Tuned');
    });
  });

  it('runs a read-only tenant transaction under the tenant, refuses its writes, and leaves no setting behind', async () => {
    const db = testDatabase.database.db;
    const seen = await withTenantRead(db, tenantId, async (tx) => {
      const first = await sql<{ tenant: string; role: string; read_only: string }>`
        select current_setting('app.tenant_id') as tenant, current_user as role,
               current_setting('transaction_read_only') as read_only`.execute(tx);
      const second = await sql<{ tenant: string }>`select current_setting('app.tenant_id') as tenant`.execute(
        tx,
      );
      return [first.rows[0], second.rows[0]];
    });
    expect(seen).toEqual([{ tenant: tenantId, role: 'tessera_app', read_only: 'on' }, { tenant: tenantId }]);
    await expect(
      withTenantRead(db, tenantId, (tx) => tx.updateTable('tenants').set({ name: 'Renamed' }).execute()),
    ).rejects.toThrow('read-only transaction');
    expect(await tenantSettingOutside(db)).toBe('');
  });

  it('refuses a statement after the one that committed, and a failed last statement commits nothing', async () => {
    const db = testDatabase.database.db;
    const committing = (tx: Parameters<Parameters<typeof withTenant>[2]>[0], name: string) =>
      tx
        .updateTable('tenants')
        .set({ name })
        .where('id', '=', tenantId)
        .modifyEnd(sql.raw(COMMITS_TRANSACTION))
        .execute();
    await expect(
      withTenant(db, tenantId, async (tx) => {
        await committing(tx, 'First');
        await tx.selectFrom('tenants').select('name').execute();
      }),
    ).rejects.toThrow('after the one that committed');
    await expect(
      withTenant(db, tenantId, async (tx) => {
        await tx.updateTable('tenants').set({ name: 'Half-written' }).where('id', '=', tenantId).execute();
        await sql`update tenants set name = 'x' where id = ${tenantId} and 1 / 0 = 1 ${sql.raw(COMMITS_TRANSACTION)}`.execute(
          tx,
        );
      }),
    ).rejects.toThrow('division by zero');
    const { rows } = await sql<{ name: string }>`select name from tenants where id = ${tenantId}`.execute(db);
    expect(rows).toEqual([{ name: 'First' }]);
    await withSystem(db, (tx) =>
      tx.updateTable('tenants').set({ name: 'Tuned' }).where('id', '=', tenantId).execute(),
    );
  });

  it('prepares a statement once it runs often, and it keeps answering correctly', async () => {
    const db = testDatabase.database.db;
    const probe = (n: number) =>
      sql<{ n: number }>`select ${n}::int + 1 as n /* prepared-probe */`.execute(db);
    for (let n = 0; n < 5; n++) expect((await probe(n)).rows).toEqual([{ n: n + 1 }]);
    const prepared = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(
      db,
    );
    expect(prepared.rows.filter((row) => row.statement.includes('prepared-probe'))).toHaveLength(1);
  });

  it("sends a read-only transaction's settings as one statement, prepared once for every tenant", async () => {
    const db = testDatabase.database.db;
    for (const tenant of [tenantId, uuidv7(), uuidv7(), uuidv7()]) {
      const { rows } = await withTenantRead(db, tenant, (tx) =>
        sql<{ tenant: string; read_only: string }>`
          select current_setting('app.tenant_id') as tenant,
                 current_setting('transaction_read_only') as read_only`.execute(tx),
      );
      expect(rows).toEqual([{ tenant, read_only: 'on' }]);
    }
    const prepared = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(
      db,
    );
    const settings = prepared.rows.filter((row) => row.statement.includes('app.tenant_id'));
    expect(settings.map((row) => row.statement)).toEqual([
      expect.stringMatching(/transaction_read_only.*'app\.tenant_id', \$1/),
    ]);
  });

  it('never prepares a statement marked to be planned each time', async () => {
    const db = testDatabase.database.db;
    for (let n = 0; n < 5; n++) {
      const { rows } = await sql<{
        n: number;
      }>`${sql.raw(PLAN_EACH_TIME)} select ${n}::int + 1 as n /* planned-probe */`.execute(db);
      expect(rows).toEqual([{ n: n + 1 }]);
    }
    const prepared = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(
      db,
    );
    expect(prepared.rows.filter((row) => row.statement.includes('planned-probe'))).toEqual([]);
  });

  it('runs a tenant transaction under the tenant, and leaves no setting behind', async () => {
    const db = testDatabase.database.db;
    const inside = await withTenant(db, tenantId, async (tx) => {
      const { rows } = await sql<{ tenant: string; role: string }>`
        select current_setting('app.tenant_id') as tenant, current_user as role`.execute(tx);
      return rows[0]!;
    });
    expect(inside).toEqual({ tenant: tenantId, role: 'tessera_app' });
    // The settings were local to that transaction.
    expect(await tenantSettingOutside(db)).toBe('');
  });

  it('rolls back what a failed transaction wrote, and runs an empty one without error', async () => {
    const db = testDatabase.database.db;
    await expect(
      withTenant(db, tenantId, async (tx) => {
        await tx.updateTable('tenants').set({ name: 'Renamed' }).execute();
        throw new Error('rule broken');
      }),
    ).rejects.toThrow('rule broken');
    await withSystem(db, () => undefined);
    const { rows } = await sql<{ name: string }>`select name from tenants where id = ${tenantId}`.execute(db);
    expect(rows).toEqual([{ name: 'Tuned' }]);
  });

  it('refuses a tenant id that is not a UUID', async () => {
    await expect(withTenant(testDatabase.database.db, "x'; drop table tenants; --", () => 1)).rejects.toThrow(
      'not a tenant id',
    );
  });
});
