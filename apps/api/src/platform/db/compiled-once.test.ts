import { uuidv7 } from '@tessera/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { serviceAvailable } from '../../../test/support/services';
import { compiledOnce } from './compiled-once';
import { withSystem, withTenantRead } from './tenant';

const postgresUp = await serviceAvailable('postgres');

describe.runIf(postgresUp)('a query compiled once', () => {
  let testDatabase: TestDatabase;
  const tenants = [uuidv7(), uuidv7()] as const;

  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    await withSystem(testDatabase.database.db, (tx) =>
      tx
        .insertInto('tenants')
        .values(tenants.map((id, i) => ({ id, name: `Tenant ${i}` })))
        .execute(),
    );
  });

  afterAll(async () => {
    await testDatabase?.drop();
  });

  it('is built once and binds each call its own arguments, under row-level security', async () => {
    let builds = 0;
    const tenantNamed = compiledOnce(2, (tx, id: string, name: string) => {
      builds += 1;
      return tx.selectFrom('tenants').select(['id', 'name']).where('id', '=', id).where('name', '=', name);
    });
    const read = (as: string, id: string, name: string) =>
      withTenantRead(testDatabase.database.db, as, (tx) => tenantNamed(tx, id, name));

    expect(await read(tenants[0], tenants[0], 'Tenant 0')).toEqual([{ id: tenants[0], name: 'Tenant 0' }]);
    expect(await read(tenants[1], tenants[1], 'Tenant 1')).toEqual([{ id: tenants[1], name: 'Tenant 1' }]);
    expect(await read(tenants[1], tenants[1], 'Tenant 0')).toEqual([]);
    // Another tenant's row stays invisible: the policy applies to the compiled statement too.
    expect(await read(tenants[0], tenants[1], 'Tenant 1')).toEqual([]);
    expect(builds).toBe(1);
  });

  it('refuses a query that does not bind one of its arguments', async () => {
    const shapedByItsArgument = compiledOnce(1, (tx, withName: boolean) =>
      tx.selectFrom('tenants').select(withName ? ['id', 'name'] : ['id']),
    );
    await expect(
      withTenantRead(testDatabase.database.db, tenants[0], (tx) => shapedByItsArgument(tx, true)),
    ).rejects.toThrow('an argument is not a bound value of the query');
  });
});
