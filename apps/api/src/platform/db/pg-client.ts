import type pg from 'pg';

/** Texts that get a prepared-statement name: bounded, so each connection's statements stay bounded. */
const MAX_NAMED = 200;
/** Executions before a text is named: one-off statements (migrations, admin) are not kept. */
const NAME_AFTER = 3;
/** Distinct texts counted toward naming, at most (beyond it, new texts simply stay unnamed). */
const MAX_COUNTED = 10_000;

/**
 * A statement whose text starts with this is never named: PostgreSQL plans it for its parameters on
 * every execution. For statements on a table that grows from empty (the outbox): a named statement
 * soon runs a cached generic plan, and one chosen while the table was a page or two keeps scanning
 * the whole table after it has grown, until the next ANALYZE happens to replace it.
 */
export const PLAN_EACH_TIME = '/* plan-each-time */';

type QueryResult = pg.QueryResult<Record<string, unknown>>;
type Query = (text: string | pg.QueryConfig, values?: unknown[]) => Promise<QueryResult | QueryResult[]>;

/**
 * The statement texts the process runs often, each with a prepared-statement name, shared by
 * every connection of the pool.
 */
export class StatementNames {
  private readonly counts = new Map<string, number>();
  private readonly names = new Map<string, string>();

  nameOf(text: string): string | undefined {
    if (text.startsWith(PLAN_EACH_TIME)) return undefined;
    const named = this.names.get(text);
    if (named || this.names.size >= MAX_NAMED) return named;
    const count = (this.counts.get(text) ?? 0) + 1;
    if (count < NAME_AFTER) {
      if (this.counts.size < MAX_COUNTED || this.counts.has(text)) this.counts.set(text, count);
      return undefined;
    }
    this.counts.delete(text);
    const name = `tessera_${this.names.size + 1}`;
    this.names.set(text, name);
    return name;
  }
}

const done = (command: string): QueryResult => ({ command, rowCount: null, oid: 0, rows: [], fields: [] });

/**
 * Fewer round trips and less planning for a pooled client, without changing what runs:
 * - a statement the process runs often is sent as a named prepared statement, which PostgreSQL
 *   parses and plans once per connection instead of on every execution;
 * - BEGIN is held back and sent together with the transaction's first statement when that one
 *   has no parameters (withTenant's set_config), so opening a tenant transaction is one round
 *   trip, not two; a transaction that ran nothing commits or rolls back without a round trip.
 */
export function tuneClient(client: pg.Client, names: StatementNames): void {
  const original = client.query.bind(client) as (...args: unknown[]) => unknown;
  const query = original as Query;
  let beginHeld = false;
  const send = (text: string, values: unknown[]) => {
    const name = values.length ? names.nameOf(text) : undefined;
    return name ? query({ name, text, values }) : query(text, values);
  };
  const tuned = (text: unknown, values?: unknown, callback?: unknown): unknown => {
    if (
      typeof text !== 'string' ||
      callback !== undefined ||
      (values !== undefined && !Array.isArray(values))
    ) {
      return original(text, values, callback);
    }
    const params = (values as unknown[] | undefined) ?? [];
    const verb = text.length <= 8 ? text.trim().toLowerCase() : '';
    if (verb === 'begin' && params.length === 0) {
      beginHeld = true;
      return Promise.resolve(done('BEGIN'));
    }
    if (!beginHeld) return send(text, params);
    beginHeld = false;
    if (verb === 'commit' || verb === 'rollback') return Promise.resolve(done(verb.toUpperCase()));
    if (params.length) return query('begin').then(() => send(text, params));
    return query(`begin; ${text}`).then((results) => (Array.isArray(results) ? results.at(-1)! : results));
  };
  Object.defineProperty(client, 'query', { value: tuned, configurable: true, writable: true });
}
