import { sql, type Kysely } from 'kysely';
import { withTenant, type Tx } from '../../src/platform/db/tenant';
import type { DB } from '../../src/platform/db/tables';

/** Resolves once `condition` holds; throws after `timeoutMs`. */
export async function until(condition: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** How many statements of the test's database wait for a lock. */
export async function lockWaiters(db: Kysely<DB>): Promise<number> {
  const { rows } = await sql<{ waiting: number }>`
    select count(*)::int as waiting from pg_stat_activity
    where datname = current_database() and wait_event_type = 'Lock'`.execute(db);
  return rows[0]!.waiting;
}

/**
 * Runs `lock` in a tenant transaction of its own and keeps that transaction open, its locks held,
 * until `release` is called; `then` runs in it, still holding them, before it commits. Other
 * transactions wanting those rows queue meanwhile: a race made to happen, in a chosen order.
 */
export async function holdRows(
  db: Kysely<DB>,
  tenantId: string,
  lock: (tx: Tx) => Promise<unknown>,
  then: (tx: Tx) => Promise<unknown> = async () => {},
): Promise<{ release: () => Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let holding!: () => void;
  const held = new Promise<void>((resolve) => (holding = resolve));
  const holder = withTenant(db, tenantId, async (tx) => {
    await lock(tx);
    holding();
    await released;
    await then(tx);
  });
  await Promise.race([held, holder]);
  return {
    release: async () => {
      release();
      await holder;
    },
  };
}
