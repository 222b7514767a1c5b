import { createRequire } from 'node:module';
import pg from 'pg';

/** node-postgres' own conversion of a parameter to its wire text, as its Query binds them. */
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as {
  prepareValue: (value: unknown) => unknown;
};

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

/**
 * Starts a statement that only sets transaction-local settings (`select set_config(…, true), …`)
 * and whose result nobody reads: the client holds it back and sends it in front of each statement of
 * the transaction that needs it, in the same write. With parameters, it is prepared like any other.
 */
export const TRANSACTION_SETTINGS = '/* transaction-settings */';

/**
 * Ends the last statement of a transaction: the client sends COMMIT in the same write, and the
 * COMMIT that follows costs no round trip. Nothing but COMMIT or ROLLBACK may follow it.
 */
export const COMMITS_TRANSACTION = '/* commits-transaction */';

/** Kysely's BEGIN for a transaction whose access mode is read only. */
const BEGIN_READ_ONLY = 'start transaction read only';

/**
 * Makes the statements up to the next Sync read only. Not `SET TRANSACTION READ ONLY`: outside a
 * transaction block PostgreSQL answers that with a warning, which it also writes to its log, one
 * line for every read.
 */
const READ_ONLY_SETTING = "set_config('transaction_read_only', 'on', true)";
const READ_ONLY: Statement = { text: `select ${READ_ONLY_SETTING}`, values: [] };

/** How a settings statement whose select list the read-only setting can join begins. */
const SETTINGS_SELECT = `${TRANSACTION_SETTINGS} select `;

/**
 * A read-only transaction's settings in one statement: the read-only setting joins the first
 * settings statement's select list, so PostgreSQL runs one statement, not two, ahead of each read.
 */
function readOnlySettings(held: Statement[], settings: Statement): Statement[] {
  if (held.length !== 1 || held[0] !== READ_ONLY || !settings.text.startsWith(SETTINGS_SELECT))
    return [...held, settings];
  const list = settings.text.slice(SETTINGS_SELECT.length);
  return [{ text: `${SETTINGS_SELECT}${READ_ONLY_SETTING}, ${list}`, values: settings.values }];
}

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

interface Statement {
  text: string;
  values: unknown[];
  name?: string | undefined;
}

/** What node-postgres keeps per connection about named statements (not in its typings). */
interface ProtocolConnection extends pg.Connection {
  parsedStatements: Record<string, string>;
  submittedNamedStatements: Record<string, string>;
}

/**
 * Several statements in one write and one round trip: each is parsed (or bound by name), bound and
 * executed, and one Sync closes them all. Outside BEGIN they share one implicit transaction.
 * PostgreSQL stops at the first error and skips the rest, and the batch fails with that error.
 *
 * A named statement not yet prepared on this connection is parsed first, ahead of every other
 * message: node-postgres records it as prepared on the first ParseComplete of the batch, which is
 * then exactly when it is.
 */
class Batch extends pg.Query {
  constructor(
    private readonly statements: Statement[],
    callback: (error: Error | undefined, results: QueryResult | QueryResult[]) => void,
  ) {
    const named = statements.find((statement) => statement.name);
    super(named ? { text: named.text, name: named.name } : { text: statements.at(-1)!.text });
    (this as unknown as { callback: typeof callback }).callback = callback;
  }

  override submit = (connection: pg.Connection): void => {
    const protocol = connection as ProtocolConnection;
    protocol.stream.cork();
    try {
      for (const { name, text } of this.statements) {
        if (name && !protocol.parsedStatements[name] && !protocol.submittedNamedStatements[name]) {
          protocol.parse({ text, name, types: [] }, false);
          protocol.submittedNamedStatements[name] = text;
        }
      }
      for (const { name, text, values } of this.statements) {
        if (!name) protocol.parse({ text, name: '', types: [] }, false);
        // The values as Kysely passed them: the mapper turns each into its wire text, as pg.Query does.
        const raw = values as pg.BindConfig['values'];
        protocol.bind({ portal: '', statement: name ?? '', values: raw, valueMapper: prepareValue }, false);
        protocol.describe({ type: 'P', name: '' }, false);
        protocol.execute({ portal: '' }, false);
      }
      protocol.sync();
    } finally {
      protocol.stream.uncork();
    }
  };
}

const done = (command: string): QueryResult => ({ command, rowCount: null, oid: 0, rows: [], fields: [] });

/**
 * Where the client is in a transaction Kysely runs on it:
 * - `writing`: BEGIN held back, with the settings, until the first statement, which they precede;
 * - `reading`: a read-only transaction, never opened: each statement runs in an implicit
 *   transaction of its own, behind the held settings (under READ COMMITTED every statement sees its
 *   own snapshot anyway, and read only is enforced for each);
 * - `open`: BEGIN sent; `committed`: its last statement went with COMMIT.
 */
type TransactionState =
  | { kind: 'none' }
  | { kind: 'writing' | 'reading'; held: Statement[] }
  | { kind: 'open' }
  | { kind: 'committed' };

/**
 * Fewer round trips and less planning for a pooled client, without changing what runs:
 * - a statement the process runs often is sent as a named prepared statement, which PostgreSQL
 *   parses and plans once per connection instead of on every execution;
 * - a transaction's BEGIN and settings go in the write of its first statement, its COMMIT in the
 *   write of its last one when that is marked (COMMITS_TRANSACTION), and a read-only transaction
 *   costs one round trip a statement and none to open or close.
 */
export function tuneClient(client: pg.Client, names: StatementNames): void {
  const original = client.query.bind(client) as (...args: unknown[]) => unknown;
  const query = original as Query;
  let state: TransactionState = { kind: 'none' };

  const send = (text: string, values: unknown[]): Promise<QueryResult | QueryResult[]> => {
    const name = values.length ? names.nameOf(text) : undefined;
    return name ? query({ name, text, values }) : query(text, values);
  };
  /**
   * The statements in one round trip; resolves with the result of the one at `index` (the others
   * are ours, one command each). Without parameters they go as one simple query, which may hold
   * several commands (a migration) and which PostgreSQL also runs as one implicit transaction.
   */
  const batch = (statements: Statement[], index: number): Promise<QueryResult> => {
    const after = statements.length - index - 1;
    const resultOf = (results: QueryResult | QueryResult[]): QueryResult => {
      if (!Array.isArray(results)) return results;
      const own = results.slice(index, results.length - after);
      return own.length === 1 ? own[0]! : (own as unknown as QueryResult);
    };
    if (statements.every((statement) => statement.values.length === 0)) {
      return query(statements.map((statement) => statement.text).join(';\n')).then(resultOf);
    }
    return new Promise((resolve, reject) => {
      const named = statements.map((statement) =>
        statement.values.length ? { ...statement, name: names.nameOf(statement.text) } : statement,
      );
      void original(
        new Batch(named, (error, results) => {
          if (error) reject(error);
          else resolve(resultOf(results));
        }),
      );
    });
  };
  const plain = (text: string): Statement => ({ text, values: [] });

  const inTransaction = (
    text: string,
    values: unknown[],
    verb: string,
  ): Promise<QueryResult | QueryResult[]> => {
    const commits = text.endsWith(COMMITS_TRANSACTION);
    switch (state.kind) {
      case 'none':
        return send(text, values);
      case 'reading': {
        if (verb === 'commit' || verb === 'rollback') {
          state = { kind: 'none' };
          return Promise.resolve(done(verb.toUpperCase()));
        }
        const prefix = state.held;
        return batch([...prefix, { text, values }], prefix.length);
      }
      case 'writing': {
        if (verb === 'commit' || verb === 'rollback') {
          state = { kind: 'none' };
          return Promise.resolve(done(verb.toUpperCase()));
        }
        const prefix = state.held;
        state = { kind: 'open' };
        const sent = batch(
          [...prefix, { text, values }, ...(commits ? [plain('commit')] : [])],
          prefix.length,
        );
        return commits ? sent.then(committed) : sent;
      }
      case 'open':
        if (verb === 'commit' || verb === 'rollback') {
          state = { kind: 'none' };
          return send(text, values);
        }
        return commits ? batch([{ text, values }, plain('commit')], 0).then(committed) : send(text, values);
      case 'committed':
        if (verb === 'commit' || verb === 'rollback') {
          state = { kind: 'none' };
          return Promise.resolve(done(verb.toUpperCase()));
        }
        return Promise.reject(new Error('A statement after the one that committed the transaction'));
    }
  };
  const committed = (result: QueryResult): QueryResult => {
    state = { kind: 'committed' };
    return result;
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
    const verb =
      text.length <= BEGIN_READ_ONLY.length && params.length === 0 ? text.trim().toLowerCase() : '';
    if (state.kind === 'none' && (verb === 'begin' || verb === BEGIN_READ_ONLY)) {
      state =
        verb === 'begin'
          ? { kind: 'writing', held: [plain('begin')] }
          : { kind: 'reading', held: [READ_ONLY] };
      return Promise.resolve(done('BEGIN'));
    }
    if ((state.kind === 'writing' || state.kind === 'reading') && text.startsWith(TRANSACTION_SETTINGS)) {
      const settings = { text, values: params };
      state.held =
        state.kind === 'reading' ? readOnlySettings(state.held, settings) : [...state.held, settings];
      return Promise.resolve(done('SELECT'));
    }
    return inTransaction(text, params, verb);
  };
  Object.defineProperty(client, 'query', { value: tuned, configurable: true, writable: true });
}
