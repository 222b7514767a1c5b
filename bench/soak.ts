/**
 * `npm run soak`: ten minutes (SOAK_SECONDS) of checkouts at half of the peak rate measured first,
 * against separate API and worker processes on the local PostgreSQL and Redis. Prints the processes'
 * RSS every 30 s and the error count; not part of CI.
 */
import fs from 'node:fs';
import autocannon from 'autocannon';
import { startCluster, type PlatformProcess } from '../apps/api/test/support/cluster';

const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const PEAK_SECONDS = 10;

function rssMiB(proc: PlatformProcess): number {
  const status = fs.readFileSync(`/proc/${proc.child.pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round(kib / 1024);
}

async function json<T>(url: string, init: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${init.method} ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

const cluster = await startCluster({
  apis: 1,
  workers: 1,
  env: { LOG_LEVEL: 'error', RATE_LIMIT_USER_PER_MINUTE: '100000000', DATABASE_POOL_SIZE: '20' },
});
const [api] = cluster.apis as [PlatformProcess];
const [worker] = cluster.workers as [PlatformProcess];
try {
  const headers = { 'content-type': 'application/json' };
  const registered = await json<{ access_token: string }>(`${api.url}/auth/register`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      email: `soak-${Date.now()}@example.test`,
      password: 'correct horse battery staple',
      name: 'Soak',
      tenant_name: 'Soak Shop',
    }),
  });
  const auth = { ...headers, authorization: `Bearer ${registered.access_token}` };
  const product = await json<{ id: string }>(`${api.url}/commerce/products`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ sku: 'SOAK-1', name: 'Soak widget', price: 500, currency: 'EUR' }),
  });
  await json(`${api.url}/commerce/inventory/${product.id}`, {
    method: 'PUT',
    headers: auth,
    body: JSON.stringify({ on_hand: 100_000_000 }),
  });
  const request = {
    url: `${api.url}/commerce/orders`,
    method: 'POST' as const,
    headers: auth,
    body: JSON.stringify({ lines: [{ product_id: product.id, quantity: 1 }] }),
  };

  const peak = await autocannon({ ...request, connections: 16, duration: PEAK_SECONDS });
  const rate = Math.max(1, Math.floor(peak.requests.average / 2));
  console.log(`peak ${Math.round(peak.requests.average)} checkouts/s; soaking ${SOAK_SECONDS}s at ${rate}/s`);

  let errors = 0;
  let completed = 0;
  let finish!: (result: autocannon.Result) => void;
  const finished = new Promise<autocannon.Result>((resolve) => (finish = resolve));
  const run = autocannon(
    { ...request, connections: 16, duration: SOAK_SECONDS, overallRate: rate },
    (error, result) => {
      if (error) errors++;
      finish(result);
    },
  );
  run.on('response', (_client, status) => {
    completed++;
    if (status >= 400) errors++;
  });
  run.on('reqError', () => errors++);
  const started = Date.now();
  const sampler = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000);
    console.log(
      `t=${seconds}s  api RSS ${rssMiB(api)} MiB  worker RSS ${rssMiB(worker)} MiB  done ${completed}  errors ${errors}`,
    );
  }, 30_000);
  const result = await finished;
  clearInterval(sampler);
  console.log(
    `soak done: ${result.requests.total} requests, ${errors} errors, p99 ${result.latency.p99} ms, api RSS ${rssMiB(api)} MiB, worker RSS ${rssMiB(worker)} MiB`,
  );
} finally {
  await cluster.stop();
}
process.exit(0);
