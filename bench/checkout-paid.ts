/**
 * A sale at the till: an order placed (POST /commerce/orders, one line) and paid in cash
 * (POST /commerce/payments for its total), two requests in sequence per sale, against a listening
 * API process and a worker on the local PostgreSQL; beside pgbench's tpcb-like TPS of the same run.
 */
import autocannon from 'autocannon';
import type { PlatformProcess } from '../apps/api/test/support/cluster';
import { api, benchCluster, openShop, PGBENCH_CLIENTS, pgbenchTps } from './checkout';
import { okPerSecond, report, succeeded } from './lib';

const SECONDS = 10;
const CONNECTIONS = 16;
const PRODUCTS = 300;

interface SaleContext {
  order?: { id: string; total: number; currency: string };
}

export async function benchCheckoutPaid(): Promise<void> {
  const cluster = await benchCluster();
  try {
    const [apiProcess] = cluster.apis as [PlatformProcess];
    const shop = await openShop(apiProcess, PRODUCTS, 100_000_000);
    const headers = { ...shop.auth, 'content-type': 'application/json' };
    const run = (seconds: number) =>
      autocannon({
        url: apiProcess.url,
        connections: CONNECTIONS,
        duration: seconds,
        requests: [
          {
            method: 'POST',
            path: '/commerce/orders',
            headers,
            setupRequest: (request) => ({
              ...request,
              body: JSON.stringify({
                lines: [{ product_id: shop.productIds[Math.floor(Math.random() * PRODUCTS)], quantity: 1 }],
              }),
            }),
            onResponse: (_status, body, context: SaleContext) => {
              context.order = JSON.parse(body) as SaleContext['order'];
            },
          },
          {
            method: 'POST',
            path: '/commerce/payments',
            headers,
            setupRequest: (request, context: SaleContext) => ({
              ...request,
              body: JSON.stringify({
                order_id: context.order!.id,
                amount: context.order!.total,
                currency: context.order!.currency,
                gateway: 'manual',
              }),
            }),
          },
        ],
      });
    await run(3); // warm-up: JIT, pools, plans
    const result = succeeded(await run(SECONDS), 'requests');
    const sample = await api<{ data: { status: string }[] }>(
      apiProcess.url,
      'GET',
      '/commerce/payments?limit=1',
      shop.auth,
    );
    if (sample.data[0]?.status !== 'completed') throw new Error('the benchmark sales are not paid');

    const tps = pgbenchTps();
    report({
      benchmark: 'checkout-paid',
      metric: 'sales/s (order + cash payment)',
      value: okPerSecond(result) / 2,
      unit: 'sales/s',
      baseline: { name: `pgbench tpcb-like (${PGBENCH_CLIENTS} clients)`, value: tps, unit: 'tps' },
      goal: '>= 0.25 of pgbench',
    });
    report({
      benchmark: 'checkout-paid',
      metric: 'p50 latency per request',
      value: result.latency.p50,
      unit: 'ms',
    });
    report({
      benchmark: 'checkout-paid',
      metric: 'p99 latency per request',
      value: result.latency.p99,
      unit: 'ms',
    });
  } finally {
    await cluster.stop();
  }
}
