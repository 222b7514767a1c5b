import { sql, type Kysely, type Transaction } from 'kysely';
import { TRANSACTION_SETTINGS } from './pg-client';
import type { DB } from './tables';

export type Tx = Transaction<DB>;
/** Either the root handle or a transaction: repositories accept both. */
export type Executor = Kysely<DB> | Tx;

/** The role every tenant transaction runs as: no BYPASSRLS, so row-level security always applies. */
export const APP_ROLE = 'tessera_app';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Work a transaction runs at its end: just before COMMIT (in it), and once it has committed. The
 * last work before COMMIT is told so (`final`), and may send COMMIT with its statement.
 */
export interface TransactionHooks {
  beforeCommit: ((tx: Tx, final: boolean) => Promise<void>)[];
  afterCommit: ((db: Kysely<DB>) => void)[];
}

const hooksOf = new WeakMap<Tx, TransactionHooks>();

/**
 * The hooks of a transaction opened by withTenant or withSystem. Any other transaction has none,
 * and asking for them is a programming error: what it deferred to its commit would be lost.
 */
export function transactionHooks(tx: Tx): TransactionHooks {
  const hooks = hooksOf.get(tx);
  if (!hooks) throw new Error('this transaction was not opened by withTenant or withSystem');
  return hooks;
}

async function runTransaction<T>(
  db: Kysely<DB>,
  work: (tx: Tx) => T | Promise<T>,
  options: { setup?: (tx: Tx) => Promise<void>; readOnly?: boolean } = {},
): Promise<T> {
  const hooks: TransactionHooks = { beforeCommit: [], afterCommit: [] };
  const transaction = options.readOnly ? db.transaction().setAccessMode('read only') : db.transaction();
  const result = await transaction.execute(async (tx) => {
    hooksOf.set(tx, hooks);
    if (options.setup) await options.setup(tx);
    const value = await work(tx);
    for (const [index, hook] of hooks.beforeCommit.entries()) {
      await hook(tx, index === hooks.beforeCommit.length - 1);
    }
    return value;
  });
  for (const hook of hooks.afterCommit) hook(db);
  return result;
}

const tenantSettings = (tenantId: string) => {
  if (!UUID.test(tenantId)) throw new Error(`not a tenant id: ${tenantId}`);
  // The client sends it ahead of the transaction's statements, in their writes; with the tenant as
  // a parameter, it is one prepared statement for every tenant.
  const settings = sql`${sql.raw(`${TRANSACTION_SETTINGS} select set_config('role', '${APP_ROLE}', true),`)} set_config('app.tenant_id', ${tenantId}, true)`;
  return async (tx: Tx) => {
    await settings.execute(tx);
  };
};

/**
 * Runs work in one transaction scoped to a tenant: the role is switched to the RLS-bound role and
 * `app.tenant_id` is set for this transaction only, so a query that forgets its tenant filter
 * still sees, and can write, only this tenant's rows.
 */
export async function withTenant<T>(
  db: Kysely<DB>,
  tenantId: string,
  work: (tx: Tx) => T | Promise<T>,
): Promise<T> {
  return runTransaction(db, work, { setup: tenantSettings(tenantId) });
}

/** A read in a transaction of the caller's tenant. */
export type TenantRead = <T>(work: (tx: Tx) => Promise<T>) => Promise<T>;

/**
 * withTenant for work that only reads: PostgreSQL refuses any write in it, and it costs one round
 * trip a statement, none to open or commit (see the tuned client).
 */
export async function withTenantRead<T>(
  db: Kysely<DB>,
  tenantId: string,
  work: (tx: Tx) => T | Promise<T>,
): Promise<T> {
  return runTransaction(db, work, { setup: tenantSettings(tenantId), readOnly: true });
}

/** Runs reads in a read-only transaction of one tenant; each call may take a connection of its own. */
export type TenantReader = <T>(work: (tx: Tx) => Promise<T>) => Promise<T>;

/** A TenantReader on withTenantRead: for work whose independent reads may run in parallel. */
export function tenantReader(db: Kysely<DB>, tenantId: string): TenantReader {
  return (work) => withTenantRead(db, tenantId, work);
}

/**
 * Runs work in one transaction as the owner, across tenants. Only for what is global by nature:
 * looking a user up by email, relaying the outbox, migrations.
 */
export async function withSystem<T>(db: Kysely<DB>, work: (tx: Tx) => T | Promise<T>): Promise<T> {
  return runTransaction(db, work);
}
