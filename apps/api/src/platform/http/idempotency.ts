import { createHash } from 'node:crypto';
import type {
  FastifyReply,
  FastifyRequest,
  onSendAsyncHookHandler,
  preHandlerAsyncHookHandler,
} from 'fastify';
import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import type { DB } from '../db/tables';
import { COMMITS_TRANSACTION } from '../db/pg-client';
import { transactionHooks, withTenant, withTenantRead, type Tx } from '../db/tenant';
import { AppError } from '../errors';
import { principalOf } from './auth-guard';

declare module '../db/tables' {
  interface DB {
    idempotency_keys: IdempotencyKeysTable;
  }
}

export interface IdempotencyKeysTable {
  tenant_id: string;
  scope: string;
  key: string;
  fingerprint: string;
  state: 'running' | 'completed';
  locked_until: Date;
  response_status: number | null;
  response_type: string | null;
  response_body: string | null;
  resource_id: string | null;
  created_at: Date | undefined;
  expires_at: Date;
}

export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Printable ASCII, as Stripe and the IETF draft allow; long enough for any UUID or hash. */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const PURGE_BATCH = 20;

export interface IdempotencyOptions {
  /** How long a completed response is replayed (the contract asks for at least 24 h). */
  ttlSeconds?: number;
  /**
   * How long a running claim blocks others. A process that dies mid-request leaves its claim
   * running; once the lease is over, a retry with the same request may take it over.
   */
  leaseSeconds?: number;
}

export interface IdempotencyHooks {
  preHandler: preHandlerAsyncHookHandler;
  onSend: onSendAsyncHookHandler;
}

export interface Idempotency {
  /** Spread into the options of every POST that creates or moves money or stock. */
  hooks: IdempotencyHooks;
  /**
   * For a route whose whole work is one transaction: records the answer the route will send (the
   * reply's status, `payload` as the route's schema serializes it) in that transaction, last. The
   * key is then completed exactly when the work commits, so a retry can never run committed work
   * again, and no transaction of its own is needed after it. Without a claim it does nothing.
   */
  recordIn(tx: Tx, request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<void>;
  /**
   * Runs a route's whole work in one transaction of the caller's tenant, and records what it
   * returns there as the answer (`recordIn`).
   */
  inTransaction<T>(request: FastifyRequest, reply: FastifyReply, work: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * For a route whose work spans transactions (a gateway call between two): records, in the first
   * transaction, the resource the work began. A retry that takes the key over because the first
   * attempt died or failed after that commit is given it by `resumed`, to finish that resource
   * rather than begin a second one. Without a claim it does nothing.
   */
  began(tx: Tx, request: FastifyRequest, resourceId: string): Promise<void>;
  /** The resource an earlier attempt with this key began and did not answer for, if any. */
  resumed(request: FastifyRequest): string | null;
}

interface Claim {
  tenantId: string;
  scope: string;
  key: string;
  fingerprint: string;
}

type ClaimOutcome =
  | { kind: 'claimed'; resumes: string | null }
  | { kind: 'conflict' }
  | { kind: 'running' }
  | { kind: 'completed'; status: number; type: string | null; body: string };

/** JSON with object keys sorted, so that the same body always hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([name, item]) => `${JSON.stringify(name)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What makes two requests "the same": method, the concrete path and query, and the body. */
export function requestFingerprint(method: string, url: string, body: unknown): string {
  return createHash('sha256')
    .update(method)
    .update('\n')
    .update(url)
    .update('\n')
    .update(canonicalJson(body ?? null))
    .digest('hex');
}

/** Expired keys are purged per tenant at most this often (a key reused after expiry is replaced anyway). */
const PURGE_EVERY_MS = 60_000;
const lastPurge = new Map<string, number>();

async function claim(
  db: Kysely<DB>,
  request: Claim,
  ttlSeconds: number,
  leaseSeconds: number,
): Promise<ClaimOutcome> {
  // Taken when new, when expired, or when a dead process left it running past its lease (or a
  // failed attempt released it), keeping what that attempt began. The statement commits its
  // transaction in the same round trip (what the key held is read after).
  const taken = await withTenant(db, request.tenantId, (tx) =>
    sql<{ resource_id: string | null }>`
      insert into idempotency_keys (tenant_id, scope, key, fingerprint, state, locked_until, expires_at)
      values (${request.tenantId}, ${request.scope}, ${request.key}, ${request.fingerprint}, 'running',
              now() + make_interval(secs => ${leaseSeconds}), now() + make_interval(secs => ${ttlSeconds}))
      on conflict (tenant_id, scope, key) do update
        set fingerprint = excluded.fingerprint, state = 'running', locked_until = excluded.locked_until,
            response_status = null, response_type = null, response_body = null,
            created_at = now(), expires_at = excluded.expires_at,
            resource_id = case when idempotency_keys.expires_at <= now() then null
                               else idempotency_keys.resource_id end
        where idempotency_keys.expires_at <= now()
           or (idempotency_keys.state = 'running' and idempotency_keys.locked_until <= now()
               and idempotency_keys.fingerprint = excluded.fingerprint)
      returning resource_id ${sql.raw(COMMITS_TRANSACTION)}`.execute(tx),
  );
  const claimed = taken.rows[0];
  if (claimed) {
    await purgeExpired(db, request.tenantId);
    return { kind: 'claimed', resumes: claimed.resource_id };
  }
  const existing = await withTenantRead(db, request.tenantId, (tx) =>
    tx
      .selectFrom('idempotency_keys')
      .select(['fingerprint', 'state', 'response_status', 'response_type', 'response_body'])
      .where('scope', '=', request.scope)
      .where('key', '=', request.key)
      .executeTakeFirst(),
  );
  // Gone meanwhile: its request failed with a 5xx and freed it. Busy, for this caller: retry.
  if (!existing) return { kind: 'running' };
  if (existing.fingerprint !== request.fingerprint) return { kind: 'conflict' };
  if (existing.state === 'running') return { kind: 'running' };
  return {
    kind: 'completed',
    status: existing.response_status ?? 200,
    type: existing.response_type,
    body: existing.response_body ?? '',
  };
}

/** Deletes a tenant's keys that expired and were never reused, now and then. */
async function purgeExpired(db: Kysely<DB>, tenantId: string): Promise<void> {
  const now = Date.now();
  if (now - (lastPurge.get(tenantId) ?? 0) < PURGE_EVERY_MS) return;
  lastPurge.set(tenantId, now);
  await withTenant(db, tenantId, (tx) =>
    sql`
      delete from idempotency_keys
      where (scope, key) in (
        select scope, key from idempotency_keys where expires_at <= now() limit ${PURGE_BATCH})`.execute(tx),
  );
}

function payloadText(payload: unknown): string | null {
  if (payload === null || payload === undefined) return '';
  if (typeof payload === 'string') return payload;
  if (Buffer.isBuffer(payload)) return payload.toString('utf8');
  return null;
}

/**
 * The Idempotency-Key mechanism, as route hooks: spread `hooks` into a route's options
 * (`{ ...idempotency.hooks, schema, config }`) on every POST that creates or moves money or stock.
 *
 * Keys are scoped per tenant and route. The key is claimed in a transaction of its own, committed
 * before the handler runs, so a second process sees it at once: the same request while the first
 * runs gets 409 idempotency_in_progress, another request with the key gets 422
 * idempotency_conflict, and after completion the first response (status and body) is replayed.
 * The answer is recorded in the route's own transaction where the route says so (`recordIn`),
 * else after it is sent. A 5xx answer releases the key, so the client may retry the same request;
 * when the work had begun a resource (`began`), the retry resumes it (`resumed`).
 */
export function idempotency(db: Kysely<DB>, options: IdempotencyOptions = {}): Idempotency {
  const ttlSeconds = options.ttlSeconds ?? 24 * 60 * 60;
  const leaseSeconds = options.leaseSeconds ?? 60;
  const claims = new WeakMap<FastifyRequest, Claim>();
  const resumes = new WeakMap<FastifyRequest, string>();

  const preHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const key = request.headers[IDEMPOTENCY_HEADER];
    if (key === undefined) return;
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
      throw new AppError(
        'validation_failed',
        'The Idempotency-Key header must be 1 to 255 printable ASCII characters',
        {
          errors: [
            { path: 'headers.idempotency-key', message: 'must be 1 to 255 printable ASCII characters' },
          ],
        },
      );
    }
    const current: Claim = {
      tenantId: principalOf(request).tenantId,
      scope: `${request.method} ${request.routeOptions.url ?? request.url}`,
      key,
      fingerprint: requestFingerprint(request.method, request.url, request.body),
    };
    const outcome = await claim(db, current, ttlSeconds, leaseSeconds);
    switch (outcome.kind) {
      case 'claimed':
        claims.set(request, current);
        if (outcome.resumes) resumes.set(request, outcome.resumes);
        return;
      case 'conflict':
        throw new AppError(
          'idempotency_conflict',
          'This Idempotency-Key was already used with another request',
        );
      case 'running':
        throw new AppError(
          'idempotency_in_progress',
          'A request with this Idempotency-Key is still running; retry later',
          {
            headers: { 'retry-after': '1' },
          },
        );
      case 'completed':
        reply.code(outcome.status).header('idempotent-replayed', 'true');
        if (outcome.type) reply.type(outcome.type);
        return reply.send(outcome.body);
    }
  };

  const onSend = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const current = claims.get(request);
    if (!current) return payload;
    claims.delete(request);
    const body = payloadText(payload);
    try {
      await withTenant(db, current.tenantId, async (tx) => {
        if (reply.statusCode >= 500 || body === null) {
          // Nothing worth replaying happened (or the body cannot be kept): free the key for a
          // retry. A key that began a resource is kept, its lease ended, for the retry to resume.
          await tx
            .deleteFrom('idempotency_keys')
            .where(runningClaim(current))
            .where('resource_id', 'is', null)
            .execute();
          await tx
            .updateTable('idempotency_keys')
            .set({ locked_until: sql<Date>`now()` })
            .where(runningClaim(current))
            .execute();
          return;
        }
        const type = reply.getHeader('content-type');
        await complete(tx, current, reply.statusCode, typeof type === 'string' ? type : null, body);
      });
    } catch (error) {
      // The work is done and committed; the client still gets its answer. The key stays
      // claimed until its lease ends, so a retry meanwhile gets 409 rather than a second run.
      request.log.error({ err: error }, 'could not record the idempotent response');
    }
    return payload;
  };

  const recordIn = async (tx: Tx, request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const current = claims.get(request);
    if (!current) return;
    const body = payloadText(reply.serialize(payload));
    if (body === null) return;
    await complete(tx, current, reply.statusCode, JSON_TYPE, body);
    // Only once committed: if the transaction rolls back, onSend records the error answer instead.
    transactionHooks(tx).afterCommit.push(() => claims.delete(request));
  };

  const inTransaction = <T>(request: FastifyRequest, reply: FastifyReply, work: (tx: Tx) => Promise<T>) =>
    withTenant(db, principalOf(request).tenantId, async (tx) => {
      const answer = await work(tx);
      await recordIn(tx, request, reply, answer);
      return answer;
    });

  const began = async (tx: Tx, request: FastifyRequest, resourceId: string) => {
    const current = claims.get(request);
    if (!current) return;
    await tx
      .updateTable('idempotency_keys')
      .set({ resource_id: resourceId })
      .where(runningClaim(current))
      .execute();
  };

  const resumed = (request: FastifyRequest) => resumes.get(request) ?? null;

  return { hooks: { preHandler, onSend }, recordIn, inTransaction, began, resumed };
}

/** The key row of a claim this process holds, while it is still running. */
const runningClaim = (claim: Claim) => (eb: ExpressionBuilder<DB, 'idempotency_keys'>) =>
  eb.and([
    eb('scope', '=', claim.scope),
    eb('key', '=', claim.key),
    eb('fingerprint', '=', claim.fingerprint),
    eb('state', '=', 'running'),
  ]);

/** What Fastify sends a serialized object as. */
const JSON_TYPE = 'application/json; charset=utf-8';

async function complete(tx: Tx, claim: Claim, status: number, type: string | null, body: string) {
  await tx
    .updateTable('idempotency_keys')
    .set({ state: 'completed', response_status: status, response_type: type, response_body: body })
    .where(runningClaim(claim))
    .execute();
}
