import { randomBytes, randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster, type PlatformProcess } from './support/cluster';
import { serviceAvailable } from './support/services';

/**
 * Two API and two worker processes on one PostgreSQL and one Redis: orders, payments and realtime
 * through both APIs; every event delivered once, sockets on both APIs receive, limits are shared,
 * no effect happens twice.
 */
const servicesUp = (await serviceAvailable('postgres')) && (await serviceAvailable('redis'));
const ORDERS = 10;

async function call<T = Record<string, unknown>>(
  proc: PlatformProcess,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; idempotencyKey?: string } = {},
): Promise<{ status: number; body: T }> {
  const response = await fetch(proc.url + path, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

interface SocketLog {
  socket: WebSocket;
  events: { id: string; event_type: string }[];
}

async function openSocket(proc: PlatformProcess, token: string, channel: string): Promise<SocketLog> {
  const socket = new WebSocket(
    `${proc.url.replace('http', 'ws')}/ws?access_token=${encodeURIComponent(token)}`,
  );
  const log: SocketLog = { socket, events: [] };
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('message', (raw: Buffer) => {
      const message = JSON.parse(raw.toString()) as {
        type: string;
        id: string;
        event_type: string;
        channel: string;
      };
      if (message.type === 'event') log.events.push({ id: message.id, event_type: message.event_type });
      if (message.type === 'subscribed' && message.channel === channel) resolve();
    });
    socket.on('open', () => socket.send(JSON.stringify({ type: 'subscribe', channel })));
  });
  return log;
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.runIf(servicesUp)('scale-out: two API and two worker processes', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster({ apis: 2, workers: 2 });
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('orders, payments and realtime through both APIs: everything once, limits shared', async () => {
    const [a, b] = cluster.apis as [PlatformProcess, PlatformProcess];
    const email = `owner-${randomBytes(4).toString('hex')}@example.test`;
    const password = 'correct horse battery staple';
    const registered = await call<{ access_token: string; tenant: { id: string } }>(
      a,
      'POST',
      '/auth/register',
      {
        body: { email, password, name: 'Owner', tenant_name: 'Scale Shop' },
      },
    );
    expect(registered.status).toBe(201);
    const token = registered.body.access_token;

    const product = await call<{ id: string }>(b, 'POST', '/commerce/products', {
      token,
      body: { sku: 'SCALE-1', name: 'Widget', price: 1250, currency: 'EUR' },
    });
    expect(product.status).toBe(201);
    expect(
      (await call(a, 'PUT', `/commerce/inventory/${product.body.id}`, { token, body: { on_hand: 100 } }))
        .status,
    ).toBe(200);

    const sockets = [await openSocket(a, token, 'orders'), await openSocket(b, token, 'orders')];

    const orderIds: string[] = [];
    for (let i = 0; i < ORDERS; i++) {
      const via = i % 2 ? b : a;
      const key = randomUUID();
      const order = await call<{ id: string; total: number }>(via, 'POST', '/commerce/orders', {
        token,
        idempotencyKey: key,
        body: { lines: [{ product_id: product.body.id, quantity: 1 }] },
      });
      expect(order.status).toBe(201);
      // The same request again, through the other API: replayed, not a second order.
      const replay = await call<{ id: string }>(via === a ? b : a, 'POST', '/commerce/orders', {
        token,
        idempotencyKey: key,
        body: { lines: [{ product_id: product.body.id, quantity: 1 }] },
      });
      expect(replay.body.id).toBe(order.body.id);
      orderIds.push(order.body.id);
      const payment = await call(via === a ? b : a, 'POST', '/commerce/payments', {
        token,
        idempotencyKey: randomUUID(),
        body: {
          order_id: order.body.id,
          amount: order.body.total,
          currency: 'EUR',
          gateway: 'manual',
          cash_tendered: 2000,
        },
      });
      expect(payment.status).toBe(201);
    }

    // Both APIs' sockets receive every order's creation, each exactly once.
    for (const log of sockets) {
      await until(
        () => log.events.filter((event) => event.event_type === 'commerce.order.created').length >= ORDERS,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const log of sockets) {
      const created = log.events.filter((event) => event.event_type === 'commerce.order.created');
      expect(created).toHaveLength(ORDERS);
      expect(new Set(created.map((event) => event.id)).size).toBe(ORDERS);
      log.socket.close();
    }

    // The workers mark every order paid, once: one pending → paid step in each history.
    await until(async () => {
      const list = await call<{ data: { status: string }[] }>(a, 'GET', '/commerce/orders?limit=200', {
        token,
      });
      return list.body.data.filter((order) => order.status === 'paid').length === ORDERS;
    });
    for (const id of orderIds) {
      const history = await call<{ data?: { to: string }[] } | { to: string }[]>(
        b,
        'GET',
        `/commerce/orders/${id}/history`,
        { token },
      );
      const steps = Array.isArray(history.body) ? history.body : (history.body.data ?? []);
      expect(steps.filter((step) => step.to === 'paid')).toHaveLength(1);
    }
    const stock = await call<{ on_hand: number; reserved: number }>(
      b,
      'GET',
      `/commerce/inventory/${product.body.id}`,
      { token },
    );
    expect(stock.body).toMatchObject({ on_hand: 100, reserved: ORDERS });

    // Each event went into the historical store once, whichever worker took it.
    await until(async () => {
      const stored = await call<{ data: { id: string }[] }>(
        a,
        'GET',
        '/api/analytics/events?type=commerce.order.created&limit=200',
        { token },
      );
      return stored.body.data?.length === ORDERS;
    });
    const stored = await call<{ data: { id: string }[] }>(
      b,
      'GET',
      '/api/analytics/events?type=commerce.order.created&limit=200',
      { token },
    );
    expect(new Set(stored.body.data.map((event) => event.id)).size).toBe(ORDERS);

    // Failed logins count across both APIs: the limit is shared through Redis.
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const response = await call(i % 2 ? b : a, 'POST', '/auth/login', {
        body: { email, password: 'wrong password here' },
      });
      statuses.push(response.status);
    }
    expect(statuses.filter((status) => status === 401)).toHaveLength(5);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
  }, 180_000);
});
