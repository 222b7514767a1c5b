/**
 * An authenticated read, GET /auth/me (token verification with EdDSA, the revocation check, one
 * user row), beside a bare Fastify route answering a constant, both driven by autocannon in the
 * same run with the same connections and duration.
 */
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { createAuthBenchApp } from './auth-app';
import { registerTenant } from '../apps/api/test/support/auth';
import { okPerSecond, report, succeeded } from './lib';

const SECONDS = 10;
const CONNECTIONS = 32;

async function rate(options: autocannon.Options): Promise<{ rps: number; p99: number }> {
  const result = succeeded(
    await autocannon({ ...options, connections: CONNECTIONS, duration: SECONDS }),
    `requests to ${options.url}`,
  );
  return { rps: okPerSecond(result), p99: result.latency.p99 };
}

export async function benchAuthedRead(withRedis = false): Promise<void> {
  const t = await createAuthBenchApp({ redis: withRedis });
  const bare = Fastify();
  bare.get('/bare', async () => ({ ok: true }));
  try {
    const admin = await registerTenant(t.app);
    const apiUrl = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
    const me = { url: `${apiUrl}/auth/me`, headers: admin.auth };
    await autocannon({ ...me, connections: CONNECTIONS, duration: 2 }); // warm-up
    const bareRun = await rate({ url: `${bareUrl}/bare` });
    const meRun = await rate(me);
    const label = withRedis ? 'GET /auth/me (Redis)' : 'GET /auth/me';
    report({
      benchmark: 'authed-read',
      metric: `${label} req/s`,
      value: meRun.rps,
      unit: 'req/s',
      baseline: { name: 'bare Fastify route', value: bareRun.rps, unit: 'req/s' },
    });
    report({ benchmark: 'authed-read', metric: `${label} p99`, value: meRun.p99, unit: 'ms' });
  } finally {
    await bare.close();
    await t.close();
  }
}
