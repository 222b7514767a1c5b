import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SocketClient } from '../modules/realtime/testing';
import { createTestApp, type TestApp } from '../../test/support/app';
import { registerTenant } from '../../test/support/auth';
import { serviceAvailable } from '../../test/support/services';

const postgresUp = await serviceAvailable('postgres');
const redisUp = postgresUp && (await serviceAvailable('redis'));

/** The value of one series in a Prometheus text exposition, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key, value]),
    );
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) return Number(match[3]);
  }
  return undefined;
}

describe.runIf(redisUp)('GET /metrics', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp({ redis: true });
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('counts requests by route pattern and status, and reports pool, outbox, streams, sockets and the event loop', async () => {
    const admin = await registerTenant(testApp);
    for (let i = 0; i < 3; i++) await testApp.app.inject({ url: '/auth/me', headers: admin.auth });
    await testApp.app.inject({
      url: '/commerce/orders/00000000-0000-7000-8000-000000000000',
      headers: admin.auth,
    });
    await testApp.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = testApp.app.server.address() as { port: number };
    const socket = await SocketClient.open(`ws://127.0.0.1:${port}/ws?access_token=${admin.accessToken}`);
    await socket.next((m) => m.type === 'ready');

    const response = await testApp.app.inject('/metrics');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    const text = response.body;
    expect(
      sample(text, 'tessera_http_requests_total', { route: '/auth/me', status: '200', method: 'GET' }),
    ).toBe(3);
    // Labelled by the route's pattern, never by the URL with its ids.
    expect(
      sample(text, 'tessera_http_requests_total', { route: '/commerce/orders/:id', status: '404' }),
    ).toBe(1);
    expect(
      sample(text, 'tessera_http_request_duration_seconds_count', { route: '/auth/me', status: '200' }),
    ).toBe(3);
    expect(sample(text, 'tessera_ws_connections')).toBe(1);
    expect(sample(text, 'tessera_db_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'tessera_outbox_backlog')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(text).toContain('tessera_realtime_stream_lag_seconds');

    // Consumer lag per stream and group, from Redis.
    await testApp.platform.redis!.xgroup(
      'CREATE',
      `${testApp.config.REDIS_KEY_PREFIX}events:auth`,
      'probe',
      '0',
      'MKSTREAM',
    );
    await testApp.flushEvents();
    const after = (await testApp.app.inject('/metrics')).body;
    expect(sample(after, 'tessera_outbox_backlog')).toBe(0);
    expect(
      sample(after, 'tessera_stream_consumer_lag', { stream: 'events:auth', group: 'probe', kind: 'lag' }),
    ).toBeGreaterThanOrEqual(1);
    socket.close();
  });
});

describe.runIf(postgresUp)('GET /metrics with METRICS_TOKEN', () => {
  let testApp: TestApp;
  const token = 'scrape-secret-0123456789';

  beforeAll(async () => {
    testApp = await createTestApp({ env: { METRICS_TOKEN: token } });
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('needs the token', async () => {
    const refused = await testApp.app.inject('/metrics');
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ code: 'unauthenticated' });
    const wrong = await testApp.app.inject({ url: '/metrics', headers: { authorization: 'Bearer nope' } });
    expect(wrong.statusCode).toBe(401);
    const allowed = await testApp.app.inject({
      url: '/metrics',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.body).toContain('tessera_http_requests_total');
  });
});

describe.runIf(postgresUp)('GET /metrics of the events', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp({ env: { EVENT_MAX_ATTEMPTS: '2' } });
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('counts the events published and dead-lettered, and reports the dead letters and the oldest unpublished event', async () => {
    testApp.platform.bus.register({
      name: 'metrics-refusing',
      types: ['auth.user.created'],
      handle: async () => {
        throw new Error('refused');
      },
    });
    await registerTenant(testApp);
    await registerTenant(testApp);
    // Written ten minutes ago and not published yet: the relay is that far behind.
    await sql`update outbox_events set created_at = now() - interval '10 minutes' where published_at is null`.execute(
      testApp.platform.db,
    );
    const before = (await testApp.app.inject('/metrics')).body;
    expect(sample(before, 'tessera_outbox_oldest_unpublished_seconds')).toBeGreaterThanOrEqual(600);
    expect(sample(before, 'tessera_outbox_published_total')).toBe(0);

    await testApp.flushEvents();
    const published = await testApp.platform.db
      .selectFrom('outbox_events')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('published_at', 'is not', null)
      .executeTakeFirstOrThrow();
    const text = (await testApp.app.inject('/metrics')).body;
    expect(text).toContain('# TYPE tessera_outbox_published_total counter');
    expect(sample(text, 'tessera_outbox_published_total')).toBe(Number(published.count));
    expect(sample(text, 'tessera_outbox_oldest_unpublished_seconds')).toBe(0);
    expect(text).toContain('# TYPE tessera_events_dead_lettered_total counter');
    expect(sample(text, 'tessera_events_dead_lettered_total', { consumer: 'metrics-refusing' })).toBe(2);
    expect(sample(text, 'tessera_dead_letters_unreplayed', { consumer: 'metrics-refusing' })).toBe(2);
  });
});
