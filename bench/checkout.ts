/**
 * Checkout throughput: authenticated POST /commerce/orders with 3 lines (catalog lookup, an
 * all-or-nothing stock reservation, the order, its lines and history, 4 outbox events) against a
 * listening API process and a worker process (relaying the outbox to Redis Streams) on the local
 * PostgreSQL, driven by autocannon at 16 connections and again at pgbench's 8; beside pgbench's
 * tpcb-like TPS (scale 10, 8 clients) measured in the same run on the same server.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { startCluster, type Cluster, type PlatformProcess } from '../apps/api/test/support/cluster';
import { TEST_DATABASE_URL } from '../apps/api/test/support/services';
import { okPerSecond, report, succeeded } from './lib';

const SECONDS = 10;
const CONNECTIONS = 16;
/** pgbench's clients: the checkout's latency is also measured at the baseline's concurrency. */
export const PGBENCH_CLIENTS = 8;
export const PRODUCTS = 300;
const LINES = 3;

export interface Shop {
  auth: Record<string, string>;
  productIds: string[];
}

/** An API process and a worker, limits raised far above the load so the benchmark measures work, not refusals. */
export function benchCluster(): Promise<Cluster> {
  return startCluster({
    apis: 1,
    workers: 1,
    env: {
      LOG_LEVEL: 'error',
      RATE_LIMIT_USER_PER_MINUTE: '100000000',
      RATE_LIMIT_IP_PER_MINUTE: '100000000',
      RATE_LIMIT_TENANT_PER_MINUTE: '100000000',
      DATABASE_POOL_SIZE: '20',
    },
  });
}

export async function api<T>(
  base: string,
  method: string,
  path: string,
  auth: Record<string, string>,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** A tenant (registered through the API) with `products` products holding `stock` units each. */
export async function openShop(apiProcess: PlatformProcess, products: number, stock: number): Promise<Shop> {
  const registered = await api<{ access_token: string }>(
    apiProcess.url,
    'POST',
    '/auth/register',
    {},
    {
      email: `bench-${randomBytes(5).toString('hex')}@example.test`,
      password: 'correct horse battery staple',
      name: 'Bench',
      tenant_name: 'Bench Shop',
    },
  );
  const auth = { authorization: `Bearer ${registered.access_token}` };
  const productIds: string[] = [];
  for (let i = 0; i < products; i++) {
    const product = await api<{ id: string }>(apiProcess.url, 'POST', '/commerce/products', auth, {
      sku: `BENCH-${i}`,
      name: `Bench product ${i}`,
      price: 100 + i,
      currency: 'EUR',
    });
    await api(apiProcess.url, 'PUT', `/commerce/inventory/${product.id}`, auth, { on_hand: stock });
    productIds.push(product.id);
  }
  return { auth, productIds };
}

/** pgbench's tpcb-like TPS on a scratch database of the same server: scale 10, PGBENCH_CLIENTS, bounded. */
export function pgbenchTps(seconds = SECONDS): number {
  const url = new URL(TEST_DATABASE_URL);
  const name = `bench_pgbench_${randomBytes(4).toString('hex')}`;
  const common = [
    '-h',
    url.hostname,
    '-p',
    url.port || '5432',
    '-U',
    decodeURIComponent(url.username || 'postgres'),
  ];
  execFileSync('createdb', [...common, name]);
  try {
    execFileSync('pgbench', [...common, '-i', '-q', '-s', '10', name], { stdio: 'ignore' });
    const output = execFileSync(
      'pgbench',
      [...common, '-b', 'tpcb-like', '-c', String(PGBENCH_CLIENTS), '-j', '2', '-T', String(seconds), name],
      {
        encoding: 'utf8',
      },
    );
    const tps = Number(/tps = ([\d.]+)/.exec(output)?.[1]);
    if (!Number.isFinite(tps)) throw new Error(`unexpected pgbench output: ${output}`);
    return tps;
  } finally {
    execFileSync('dropdb', [...common, '--force', name]);
  }
}

/** Three distinct products, chosen at random, one to three units each. */
function orderBody(productIds: string[]): string {
  const chosen = new Set<string>();
  while (chosen.size < LINES) chosen.add(productIds[Math.floor(Math.random() * productIds.length)]!);
  return JSON.stringify({
    lines: [...chosen].map((product_id) => ({ product_id, quantity: 1 + Math.floor(Math.random() * 3) })),
  });
}

/** Checkouts as fast as `connections` clients can place them, for `seconds`. */
export function checkoutLoad(
  apiProcess: PlatformProcess,
  shop: Shop,
  seconds: number,
  connections = CONNECTIONS,
): Promise<autocannon.Result> {
  return autocannon({
    url: `${apiProcess.url}/commerce/orders`,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        headers: { ...shop.auth, 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: orderBody(shop.productIds) }),
      },
    ],
  });
}

export async function benchCheckout(): Promise<void> {
  const cluster = await benchCluster();
  try {
    const [apiProcess] = cluster.apis as [PlatformProcess];
    const shop = await openShop(apiProcess, PRODUCTS, 100_000_000);
    const run = (seconds: number, connections?: number) =>
      checkoutLoad(apiProcess, shop, seconds, connections);
    await run(3); // warm-up: JIT, pools, plans
    const result = succeeded(await run(SECONDS), 'checkouts');
    // At 16 connections most of a checkout's latency is its wait behind the others (p50 is about
    // 16 / throughput); the same load at pgbench's concurrency shows what one checkout costs.
    const atBaseline = succeeded(await run(SECONDS, PGBENCH_CLIENTS), 'checkouts at pgbench concurrency');
    const orders = await api<{ data: { lines: unknown[] }[] }>(
      apiProcess.url,
      'GET',
      '/commerce/orders?limit=1',
      shop.auth,
    );
    if (orders.data[0]?.lines.length !== LINES) throw new Error('the benchmark orders do not have 3 lines');

    const tps = pgbenchTps();
    report({
      benchmark: 'checkout',
      metric: 'orders/s (3 lines)',
      value: okPerSecond(result),
      unit: 'orders/s',
      baseline: { name: `pgbench tpcb-like (${PGBENCH_CLIENTS} clients)`, value: tps, unit: 'tps' },
      goal: '>= 0.5 of pgbench',
    });
    report({ benchmark: 'checkout', metric: 'p50 latency', value: result.latency.p50, unit: 'ms' });
    report({ benchmark: 'checkout', metric: 'p99 latency', value: result.latency.p99, unit: 'ms' });
    report({
      benchmark: 'checkout',
      metric: `orders/s at ${PGBENCH_CLIENTS} connections`,
      value: okPerSecond(atBaseline),
      unit: 'orders/s',
    });
    report({
      benchmark: 'checkout',
      metric: `p50 latency at ${PGBENCH_CLIENTS} connections`,
      value: atBaseline.latency.p50,
      unit: 'ms',
    });
    report({
      benchmark: 'checkout',
      metric: `p99 latency at ${PGBENCH_CLIENTS} connections`,
      value: atBaseline.latency.p99,
      unit: 'ms',
      goal: '<= 50 ms',
    });
  } finally {
    await cluster.stop();
  }
}
