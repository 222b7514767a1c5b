import { firstUuidv7At } from '@tessera/contracts';
import { sql, type SelectQueryBuilder } from 'kysely';
import type { DB } from './tables';

/** A query of a table whose rows have a UUIDv7 `id` and a `created_at`. */
type Rows = SelectQueryBuilder<DB, keyof DB, object>;

/**
 * A page of rows, newest first (ids are UUIDv7, in creation order), after the cursor `after`, with
 * the filter's columns equal to its values where given.
 */
export function newestPage<Query extends Rows>(
  query: Query,
  filter: Record<string, string | undefined>,
  limit: number,
  after: string | null,
): Query {
  let page = query.orderBy(sql.ref('id'), 'desc').limit(limit + 1) as Query;
  for (const [column, value] of Object.entries(filter)) {
    if (value !== undefined) page = page.where(sql.ref(column), '=', value) as Query;
  }
  if (after) page = page.where(sql.ref('id'), '<', after) as Query;
  return page;
}

/**
 * Rows created in [from, to), in the order created, a page after `afterId`. The id is made when
 * the row is: bounds on it, a minute wider than the period, let the tenant's id index find the
 * period instead of walking every older row.
 */
export function createdBetween<Query extends Rows>(
  query: Query,
  from: Date,
  to: Date,
  afterId: string | null,
  limit: number,
): Query {
  let page = query
    .where(sql.ref('id'), '>=', firstUuidv7At(from.getTime() - 60_000))
    .where(sql.ref('id'), '<', firstUuidv7At(to.getTime() + 60_000))
    .where(sql.ref('created_at'), '>=', from)
    .where(sql.ref('created_at'), '<', to)
    .orderBy(sql.ref('id'))
    .limit(limit) as Query;
  if (afterId) page = page.where(sql.ref('id'), '>', afterId) as Query;
  return page;
}
