/**
 * An authenticated order read, GET /commerce/orders/:id (token verification, the revocation check,
 * the order and its lines under row-level security), against a listening API process, beside a
 * bare Fastify route in this process, both driven by autocannon in the same run; and the API
 * process's peak RSS (VmHWM) at the end.
 */
import fs from 'node:fs';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import type { PlatformProcess } from '../apps/api/test/support/cluster';
import { api, benchCluster, openShop } from './checkout';
import { okPerSecond, report, succeeded } from './lib';

const SECONDS = 10;
const CONNECTIONS = 16;
const ORDERS = 100;

function peakRssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}

async function rate(options: autocannon.Options): Promise<autocannon.Result> {
  return succeeded(
    await autocannon({ connections: CONNECTIONS, duration: SECONDS, ...options }),
    `requests to ${options.url}`,
  );
}

export async function benchOrderRead(): Promise<void> {
  const cluster = await benchCluster();
  const bare = Fastify();
  bare.get('/bare', async () => ({ ok: true }));
  try {
    const [apiProcess] = cluster.apis as [PlatformProcess];
    const shop = await openShop(apiProcess, 3, 1_000_000);
    const orderIds: string[] = [];
    for (let i = 0; i < ORDERS; i++) {
      const order = await api<{ id: string }>(apiProcess.url, 'POST', '/commerce/orders', shop.auth, {
        lines: shop.productIds.map((product_id) => ({ product_id, quantity: 1 })),
      });
      orderIds.push(order.id);
    }
    const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
    let next = 0;
    const read: autocannon.Options = {
      url: apiProcess.url,
      requests: [
        {
          method: 'GET',
          headers: shop.auth,
          setupRequest: (request) => ({
            ...request,
            path: `/commerce/orders/${orderIds[next++ % orderIds.length]}`,
          }),
        },
      ],
    };
    await rate({ ...read, duration: 3 }); // warm-up
    const bareRun = await rate({ url: `${bareUrl}/bare` });
    const readRun = await rate(read);
    report({
      benchmark: 'order-read',
      metric: 'GET /commerce/orders/:id',
      value: okPerSecond(readRun),
      unit: 'req/s',
      baseline: { name: 'bare Fastify route', value: okPerSecond(bareRun), unit: 'req/s' },
      goal: '>= 0.25 of bare',
    });
    report({ benchmark: 'order-read', metric: 'p99 latency', value: readRun.latency.p99, unit: 'ms' });
    report({
      benchmark: 'order-read',
      metric: 'API peak RSS',
      value: peakRssMiB(apiProcess.child.pid!),
      unit: 'MiB',
      goal: '<= 250 MiB',
    });
  } finally {
    await bare.close();
    await cluster.stop();
  }
}
