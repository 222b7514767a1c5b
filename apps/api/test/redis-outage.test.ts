import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startCluster, type Cluster } from './support/cluster';
import { serviceAvailable, TEST_REDIS_URL } from './support/services';

/**
 * An API and a worker process reach Redis through a proxy the test controls: taken down (every
 * connection dropped, new ones refused) as a crashed Redis is, or stalled (every byte held) as a
 * hung server or a dead peer is. Requests needing Redis answer 503 at once instead of waiting out
 * reconnections, and everything, the worker's stream readers too, resumes once Redis is back.
 */
const servicesUp = (await serviceAvailable('postgres')) && (await serviceAvailable('redis'));

interface RedisProxy {
  url: string;
  /** Drops every connection and refuses new ones. */
  down(): Promise<void>;
  /** Accepts connections again. */
  up(): Promise<void>;
  /** Holds every byte either way, on every connection, until resume(). */
  stall(): void;
  /** Delivers what was held, in order, and forwards again. */
  resume(): void;
  close(): Promise<void>;
}

async function startRedisProxy(): Promise<RedisProxy> {
  const target = new URL(TEST_REDIS_URL);
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let held: (() => void)[] | null = null;
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 6379), target.hostname);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on('data', (chunk: Buffer) => {
        if (held) held.push(() => to.write(chunk));
        else to.write(chunk);
      });
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
      from.on('error', () => to.destroy());
    }
  });
  const listen = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const down = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  await listen();
  return {
    url: `redis://127.0.0.1:${port}`,
    down,
    up: listen,
    stall() {
      held = [];
    },
    resume() {
      const release = held ?? [];
      held = null;
      for (const write of release) write();
    },
    close: down,
  };
}

interface Timed {
  status: number;
  headers: Headers;
  body: { code?: string };
  ms: number;
}

async function timed(url: string, init: RequestInit = {}): Promise<Timed> {
  const started = performance.now();
  // Bounded, so that a request left hanging fails the test instead of stalling it.
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text ? JSON.parse(text) : {}) as { code?: string },
    ms: performance.now() - started,
  };
}

async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.runIf(servicesUp)('Redis out of reach', () => {
  let proxy: RedisProxy;
  let cluster: Cluster;
  let api: string;
  let token: string;

  beforeAll(async () => {
    proxy = await startRedisProxy();
    cluster = await startCluster({ apis: 1, workers: 1, redisUrl: proxy.url });
    api = cluster.apis[0]!.url;
    const registered = await fetch(`${api}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: `outage-${randomBytes(4).toString('hex')}@example.test`,
        password: 'correct horse battery staple',
        name: 'Outage',
        tenant_name: 'Outage Shop',
      }),
    });
    expect(registered.status).toBe(201);
    token = ((await registered.json()) as { access_token: string }).access_token;
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
    await proxy?.close();
  });

  const me = () => timed(`${api}/auth/me`, { headers: { authorization: `Bearer ${token}` } });
  // Anonymous: counted against its IP's limit, in Redis, before its credentials are looked at.
  const login = () =>
    timed(`${api}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'nobody@example.test', password: 'not the password at all' }),
    });
  const serving = async () => (await me()).status === 200;

  function expectUnavailable(answer: Timed, withinMs: number): void {
    expect(answer.status, JSON.stringify(answer.body)).toBe(503);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(answer.headers.get('retry-after')).toBe('5');
    expect(answer.body.code).toBe('service_unavailable');
    expect(answer.ms).toBeLessThan(withinMs);
  }

  it('answers 503 at once while Redis refuses connections, and serves again once it is back', async () => {
    expect((await me()).status).toBe(200);
    await proxy.down();
    try {
      // Several, spread over the reconnection attempts: none waits for one.
      for (let i = 0; i < 3; i++) {
        expectUnavailable(await me(), 1500);
        expectUnavailable(await login(), 1500);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    } finally {
      await proxy.up();
    }
    await eventually(serving, 15_000, 'the API serving again');
  }, 60_000);

  it('answers 503 within its command time-out while Redis holds every answer', async () => {
    proxy.stall();
    try {
      expectUnavailable(await me(), 2500);
      expectUnavailable(await login(), 2500);
    } finally {
      proxy.resume();
    }
    await eventually(serving, 15_000, 'the API serving again');
  }, 60_000);

  it("the worker's stream readers resume after the outages: a new order's events are consumed", async () => {
    const send = async <T>(method: string, path: string, body: unknown): Promise<T> => {
      const response = await fetch(`${api}${path}`, {
        method,
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          'idempotency-key': randomUUID(),
        },
        body: JSON.stringify(body),
      });
      expect(response.status, `${method} ${path}`).toBeLessThan(300);
      return (await response.json()) as T;
    };
    const product = await send<{ id: string }>('POST', '/commerce/products', {
      sku: 'OUTAGE-1',
      name: 'Thing',
      price: 500,
      currency: 'EUR',
    });
    await send('PUT', `/commerce/inventory/${product.id}`, { on_hand: 5 });
    // The only order of this database, placed after the outages.
    await send('POST', '/commerce/orders', { lines: [{ product_id: product.id, quantity: 1 }] });
    const db = cluster.database.database.db;
    await eventually(
      async () => {
        const { rows } = await sql<{ consumers: number }>`
          select count(distinct consumer)::int as consumers from processed_events
          where event_id in (select id from outbox_events where type = 'commerce.order.created')`.execute(db);
        return rows[0]!.consumers > 0;
      },
      30_000,
      "the order's creation consumed",
    );
  }, 60_000);
});
