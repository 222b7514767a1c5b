import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCluster,
  startPrivateRedis,
  type Cluster,
  type PlatformProcess,
  type PrivateRedis,
} from './support/cluster';
import { serviceAvailable } from './support/services';

/**
 * A stream of orders and payments while a worker and an API process are SIGKILLed and Redis is
 * restarted: afterwards every committed order's events reached every consumer exactly once in
 * effect, nothing is oversold and no payment was taken twice.
 */
const servicesUp = (await serviceAvailable('postgres')) && (await serviceAvailable('redis'));
const ATTEMPTS = 36;
const STOCK = 24;

interface Answer<T> {
  status: number;
  body: T;
}

describe.runIf(servicesUp)('chaos: processes killed and Redis restarted mid-stream', () => {
  let redis: PrivateRedis;
  let cluster: Cluster;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    cluster = await startCluster({ apis: 2, workers: 2, redisUrl: redis.url });
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
    await redis?.stop();
  });

  /** A client that fails over to a live API and retries with the same Idempotency-Key. */
  async function send<T>(
    method: string,
    path: string,
    token: string | null,
    body?: unknown,
    key?: string,
  ): Promise<Answer<T>> {
    for (let attempt = 0; attempt < 40; attempt++) {
      const alive = cluster.apis.filter(
        (proc) => proc.child.exitCode === null && proc.child.signalCode === null,
      );
      const proc: PlatformProcess = alive[attempt % alive.length]!;
      try {
        const response = await fetch(proc.url + path, {
          method,
          headers: {
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(key ? { 'idempotency-key': key } : {}),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        // While Redis restarts an answer may be a 503; a 409 in-progress means the first try still runs.
        if (
          response.status === 503 ||
          (response.status === 409 &&
            key &&
            ((await response.clone().json()) as { code?: string }).code === 'idempotency_in_progress')
        ) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        const text = await response.text();
        return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    throw new Error(`${method} ${path} never got an answer`);
  }

  it('every committed order is applied exactly once, nothing oversold, nothing charged twice', async () => {
    const registered = await send<{ access_token: string; tenant: { id: string } }>(
      'POST',
      '/auth/register',
      null,
      {
        email: `chaos-${randomBytes(4).toString('hex')}@example.test`,
        password: 'correct horse battery staple',
        name: 'Chaos',
        tenant_name: 'Chaos Shop',
      },
    );
    expect(registered.status).toBe(201);
    const token = registered.body.access_token;
    const product = await send<{ id: string }>('POST', '/commerce/products', token, {
      sku: 'CHAOS-1',
      name: 'Fragile thing',
      price: 990,
      currency: 'EUR',
    });
    expect(product.status).toBe(201);
    expect(
      (await send('PUT', `/commerce/inventory/${product.body.id}`, token, { on_hand: STOCK })).status,
    ).toBe(200);

    const placed: string[] = [];
    for (let i = 0; i < ATTEMPTS; i++) {
      if (i === 8) await cluster.workers[0]!.kill('SIGKILL');
      if (i === 14) void cluster.apis[1]!.kill('SIGKILL');
      if (i === 20) await redis.restart();
      const order = await send<{ id: string; total: number }>(
        'POST',
        '/commerce/orders',
        token,
        { lines: [{ product_id: product.body.id, quantity: 1 }] },
        randomUUID(),
      );
      if (order.status === 409) continue;
      expect(order.status, JSON.stringify(order.body)).toBe(201);
      placed.push(order.body.id);
      const payment = await send(
        'POST',
        '/commerce/payments',
        token,
        {
          order_id: order.body.id,
          amount: order.body.total,
          currency: 'EUR',
          gateway: 'manual',
          cash_tendered: 1000,
        },
        randomUUID(),
      );
      expect(payment.status, JSON.stringify(payment.body)).toBe(201);
    }
    expect(placed).toHaveLength(STOCK);

    const db = cluster.database.database.db;
    // The surviving worker (and the restarted Redis) drain everything that committed, and every
    // consumer (retrying what the kills interrupted, after its backoff) catches up.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { rows } = await sql<{ unpublished: number; unpaid: number; behind: number }>`
        select (select count(*) from outbox_events where published_at is null)::int as unpublished,
               (select count(*) from orders where status <> 'paid')::int as unpaid,
               (select count(*) from (
                  select consumer from processed_events
                  where event_id in (select id from outbox_events where type = 'commerce.order.created')
                  group by consumer having count(distinct event_id) < ${STOCK}) as lagging)::int as behind`.execute(
        db,
      );
      if (rows[0]!.unpublished === 0 && rows[0]!.unpaid === 0 && rows[0]!.behind === 0) break;
      if (Date.now() > deadline) throw new Error(`not settled: ${JSON.stringify(rows[0])}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }

    const stock = await sql<{
      on_hand: number;
      reserved: number;
    }>`select on_hand, reserved from stock_levels`.execute(db);
    expect(stock.rows).toEqual([{ on_hand: STOCK, reserved: STOCK }]);

    const charged = await sql<{ order_id: string; payments: number }>`
      select order_id, count(*)::int as payments from payments where status = 'completed' group by order_id`.execute(
      db,
    );
    expect(charged.rows).toHaveLength(STOCK);
    expect(charged.rows.every((row) => row.payments === 1)).toBe(true);

    // Every consumer of order creations applied each committed order's event exactly once.
    const created = await sql<{ id: string }>`
      select id from outbox_events where type = 'commerce.order.created'`.execute(db);
    expect(created.rows).toHaveLength(STOCK);
    const perConsumer = await sql<{ consumer: string; applied: number }>`
      select consumer, count(distinct event_id)::int as applied from processed_events
      where event_id in (select id from outbox_events where type = 'commerce.order.created') group by consumer`.execute(
      db,
    );
    expect(perConsumer.rows.length).toBeGreaterThan(0);
    for (const row of perConsumer.rows)
      expect(row, row.consumer).toEqual({ consumer: row.consumer, applied: STOCK });
    const paidSteps = await sql<{ order_id: string; steps: number }>`
      select order_id, count(*)::int as steps from order_status_history where to_status = 'paid' group by order_id`.execute(
      db,
    );
    expect(paidSteps.rows).toHaveLength(STOCK);
    expect(paidSteps.rows.every((row) => row.steps === 1)).toBe(true);
  }, 300_000);
});
