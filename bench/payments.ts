/**
 * Cash payments: authenticated POST /commerce/payments (gateway manual, cash with change) against a
 * listening API process and a worker (relaying the outbox; the orders module consuming each
 * commerce.payment.processed), on the local PostgreSQL, driven by autocannon; beside pgbench's
 * tpcb-like TPS measured in the same run on the same server.
 */
import autocannon from 'autocannon';
import type { PlatformProcess } from '../apps/api/test/support/cluster';
import { api, benchCluster, openShop, PGBENCH_CLIENTS, pgbenchTps, type Shop } from './checkout';
import { okPerSecond, report, succeeded } from './lib';

const SECONDS = 10;
const CONNECTIONS = 16;
/** Payments spread over many open orders, as at many tills: each payment locks its order's row. */
const ORDERS = 64;
const AMOUNT = 100;

interface OpenOrder {
  id: string;
  total: number;
  currency: string;
}

/** Orders large enough to take every payment of the run. */
export async function openOrders(
  apiProcess: PlatformProcess,
  shop: Shop,
  count: number,
  quantity: number,
): Promise<OpenOrder[]> {
  const orders: OpenOrder[] = [];
  for (let i = 0; i < count; i++) {
    orders.push(
      await api<OpenOrder>(apiProcess.url, 'POST', '/commerce/orders', shop.auth, {
        lines: [{ product_id: shop.productIds[i % shop.productIds.length], quantity }],
      }),
    );
  }
  return orders;
}

export async function benchPayments(): Promise<void> {
  const cluster = await benchCluster();
  try {
    const [apiProcess] = cluster.apis as [PlatformProcess];
    const shop = await openShop(apiProcess, 8, 100_000_000);
    const orders = await openOrders(apiProcess, shop, ORDERS, 1_000_000);
    const run = (seconds: number) =>
      autocannon({
        url: `${apiProcess.url}/commerce/payments`,
        connections: CONNECTIONS,
        duration: seconds,
        requests: [
          {
            method: 'POST',
            headers: { ...shop.auth, 'content-type': 'application/json' },
            setupRequest: (request) => {
              const order = orders[Math.floor(Math.random() * orders.length)]!;
              return {
                ...request,
                body: JSON.stringify({
                  order_id: order.id,
                  amount: AMOUNT,
                  currency: order.currency,
                  gateway: 'manual',
                  cash_tendered: AMOUNT + 50,
                }),
              };
            },
          },
        ],
      });
    await run(3); // warm-up: JIT, pools, plans
    const result = succeeded(await run(SECONDS), 'payments');
    const sample = await api<{ data: { status: string; change_due: number }[] }>(
      apiProcess.url,
      'GET',
      '/commerce/payments?limit=1',
      shop.auth,
    );
    if (sample.data[0]?.status !== 'completed' || sample.data[0].change_due !== 50)
      throw new Error('the benchmark payments are not completed cash');

    const tps = pgbenchTps();
    report({
      benchmark: 'payments',
      metric: 'cash payments/s',
      value: okPerSecond(result),
      unit: 'payments/s',
      baseline: { name: `pgbench tpcb-like (${PGBENCH_CLIENTS} clients)`, value: tps, unit: 'tps' },
      goal: '>= 0.5 of pgbench',
    });
    report({ benchmark: 'payments', metric: 'p50 latency', value: result.latency.p50, unit: 'ms' });
    report({ benchmark: 'payments', metric: 'p99 latency', value: result.latency.p99, unit: 'ms' });
  } finally {
    await cluster.stop();
  }
}
