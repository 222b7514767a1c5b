import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app';
import { registerTenant } from '../../../test/support/auth';
import { serviceAvailable } from '../../../test/support/services';
import { RELAY_STALLED_AFTER_SECONDS } from './health';

const postgresUp = await serviceAvailable('postgres');

describe.runIf(postgresUp)('GET /health/ready and the outbox relay', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp();
    await testApp.flushEvents();
  });

  afterAll(async () => {
    await testApp?.close();
  });

  const ready = async () => {
    const response = await testApp.app.inject('/health/ready');
    return { statusCode: response.statusCode, body: response.json() };
  };

  it('reports the relay stalled, still ready, once the oldest unpublished event is past the threshold', async () => {
    expect(await ready()).toEqual({
      statusCode: 200,
      body: {
        status: 'ok',
        checks: { database: 'ok', redis: 'not_configured', relay: 'ok' },
        relay_lag_seconds: 0,
      },
    });

    // Committed moments ago and not published yet: the relay may simply not have run.
    await registerTenant(testApp);
    const fresh = await ready();
    expect(fresh.body).toMatchObject({ status: 'ok', checks: { relay: 'ok' } });
    expect(fresh.body.relay_lag_seconds).toBeLessThan(RELAY_STALLED_AFTER_SECONDS);

    const behind = RELAY_STALLED_AFTER_SECONDS + 30;
    await sql`update outbox_events set created_at = now() - make_interval(secs => ${behind})
              where published_at is null`.execute(testApp.platform.db);
    const stalled = await ready();
    expect(stalled.statusCode).toBe(200);
    expect(stalled.body).toMatchObject({
      status: 'degraded',
      checks: { database: 'ok', redis: 'not_configured', relay: 'stalled' },
    });
    expect(stalled.body.relay_lag_seconds).toBeGreaterThanOrEqual(behind);

    await testApp.flushEvents();
    expect(await ready()).toMatchObject({
      statusCode: 200,
      body: { status: 'ok', checks: { relay: 'ok' }, relay_lag_seconds: 0 },
    });
  });

  it('answers in time with the relay unknown when the outbox cannot be read', async () => {
    const locker = new pg.Client({ connectionString: testApp.testDatabase.url });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table outbox_events in access exclusive mode');
      const startedAt = Date.now();
      expect(await ready()).toEqual({
        statusCode: 200,
        body: { status: 'ok', checks: { database: 'ok', redis: 'not_configured', relay: 'unknown' } },
      });
      expect(Date.now() - startedAt).toBeLessThan(5_000);
    } finally {
      await locker.query('rollback');
      await locker.end();
    }
  });
});
