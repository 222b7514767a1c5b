import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app';
import { createModules } from '../../modules';
import { createTestApp, type TestApp } from '../../../test/support/app';
import { addMember, registerTenant, type TestTenant } from '../../../test/support/auth';
import { serviceAvailable, TEST_REDIS_URL } from '../../../test/support/services';
import { createPlatform, type Platform } from '../platform';
import { createRedis } from '../redis';

const redisUp = (await serviceAvailable('postgres')) && (await serviceAvailable('redis'));

describe.runIf(redisUp)('route rate limits across API processes', () => {
  let testApp: TestApp;
  let second: { app: FastifyInstance; platform: Platform };
  let admin: TestTenant;

  beforeAll(async () => {
    testApp = await createTestApp({
      redis: true,
      env: { RATE_LIMIT_USER_PER_MINUTE: '6', RATE_LIMIT_IP_PER_MINUTE: '1000' },
    });
    // A second API instance on the same database and Redis (same key prefix): another process.
    const logger = pino({ level: 'silent' });
    const platform = await createPlatform(testApp.config, logger, {
      database: testApp.platform.database,
      redis: createRedis(TEST_REDIS_URL, logger),
    });
    const app = await buildApp(testApp.config, { platform, modules: createModules(platform) });
    await app.ready();
    second = { app, platform };
    admin = await registerTenant(testApp);
  });

  afterAll(async () => {
    await second?.app.close();
    await second?.platform.redis?.quit();
    await testApp?.close();
  });

  it('holds a user limit across two instances, with RateLimit headers and a 429 problem with Retry-After', async () => {
    const answers = [];
    for (let i = 0; i < 6; i++) {
      const app = i % 2 === 0 ? testApp.app : second.app;
      answers.push(await app.inject({ url: '/auth/me', headers: admin.auth }));
    }
    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(answers[0]!.headers['ratelimit-limit']).toBe('6');
    expect(answers.map((answer) => answer.headers['ratelimit-remaining'])).toEqual([
      '5',
      '4',
      '3',
      '2',
      '1',
      '0',
    ]);
    expect(Number(answers[5]!.headers['ratelimit-reset'])).toBeGreaterThan(0);

    for (const app of [testApp.app, second.app]) {
      const refused = await app.inject({ url: '/auth/me', headers: admin.auth });
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['content-type']).toContain('application/problem+json');
      expect(refused.json()).toMatchObject({ status: 429, code: 'rate_limited' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(refused.headers['ratelimit-remaining']).toBe('0');
    }

    // Another user of the same address is not held back by this one's limit.
    const other = await registerTenant(second.app);
    expect((await second.app.inject({ url: '/auth/me', headers: other.auth })).statusCode).toBe(200);
  });

  it('limits anonymous requests per IP, and leaves the probes alone', async () => {
    const limited = await createTestApp({ redis: true, env: { RATE_LIMIT_IP_PER_MINUTE: '3' } });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) {
        const answer = await limited.app.inject({
          url: '/.well-known/jwks.json',
          remoteAddress: '203.0.113.7',
        });
        statuses.push(answer.statusCode);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      const elsewhere = await limited.app.inject({
        url: '/.well-known/jwks.json',
        remoteAddress: '203.0.113.8',
      });
      expect(elsewhere.statusCode).toBe(200);
      for (let i = 0; i < 5; i++) {
        const probe = await limited.app.inject({ url: '/health/live', remoteAddress: '203.0.113.7' });
        expect(probe.statusCode).toBe(200);
        expect(probe.headers['ratelimit-limit']).toBeUndefined();
      }
    } finally {
      await limited.close();
    }
  });
});

describe.runIf(await serviceAvailable('postgres'))('requests refused for their token', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp({ env: { RATE_LIMIT_IP_PER_MINUTE: '5' } });
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it("count against their IP's limit: guessing tokens ends in 429, while a valid token still passes", async () => {
    const admin = await registerTenant(testApp);
    const statuses: number[] = [];
    const remaining: (string | undefined)[] = [];
    for (let i = 0; i < 8; i++) {
      const headers = i % 2 === 0 ? { authorization: `Bearer guess-${i}` } : {};
      const answer = await testApp.app.inject({ url: '/commerce/orders', headers });
      statuses.push(answer.statusCode);
      remaining.push(answer.headers['ratelimit-remaining'] as string | undefined);
    }
    const firstLimited = statuses.indexOf(429);
    // A 401 under the limit tells how much of it is left, as any limited answer does.
    expect(remaining.slice(0, firstLimited).map(Number)).toEqual(
      Array.from({ length: firstLimited }, (_, i) => firstLimited - 1 - i),
    );
    expect(firstLimited).toBeGreaterThan(0);
    expect(statuses.slice(0, firstLimited).every((status) => status === 401)).toBe(true);
    expect(statuses.slice(firstLimited).every((status) => status === 429)).toBe(true);
    const limited = await testApp.app.inject({
      url: '/commerce/orders',
      headers: { authorization: 'Bearer x' },
    });
    expect(limited.json()).toMatchObject({ code: 'rate_limited' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await testApp.app.inject({ url: '/auth/me', headers: admin.auth })).statusCode).toBe(200);
  });
});

describe.runIf(await serviceAvailable('postgres'))('requests refused for a permission', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp({ env: { RATE_LIMIT_USER_PER_MINUTE: '4' } });
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it("count against their user's limit", async () => {
    const admin = await registerTenant(testApp);
    const staff = await addMember(testApp, admin, ['staff']);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const answer = await testApp.app.inject({
        method: 'PATCH',
        url: '/tenants/current',
        headers: staff.auth,
        payload: { name: 'Not yours to rename' },
      });
      statuses.push(answer.statusCode);
    }
    expect(statuses).toEqual([403, 403, 403, 403, 429]);
  });
});
