import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from './tables';

export type Tx = Transaction<DB>;
/** Either the root handle or a transaction: repositories accept both. */
export type Executor = Kysely<DB> | Tx;

/** The role every tenant transaction runs as: no BYPASSRLS, so row-level security always applies. */
export const APP_ROLE = 'tessera_app';

/**
 * Runs work in one transaction scoped to a tenant: the role is switched to the RLS-bound role and
 * `app.tenant_id` is set for this transaction only, so a query that forgets its tenant filter
 * still sees, and can write, only this tenant's rows.
 */
export async function withTenant<T>(
  db: Kysely<DB>,
  tenantId: string,
  work: (tx: Tx) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (tx) => {
    await sql`select set_config('role', ${APP_ROLE}, true), set_config('app.tenant_id', ${tenantId}, true)`.execute(
      tx,
    );
    return work(tx);
  });
}

/**
 * Runs work in one transaction as the owner, across tenants. Only for what is global by nature:
 * looking a user up by email, relaying the outbox, migrations.
 */
export async function withSystem<T>(db: Kysely<DB>, work: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction().execute(work);
}
