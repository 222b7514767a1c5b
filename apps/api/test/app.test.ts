import net, { type AddressInfo } from 'node:net';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app';
import { AppError } from '../src/platform/errors';
import { createTestApp, type TestApp } from './support/app';
import { serviceAvailable } from './support/services';

const postgresUp = await serviceAvailable('postgres');

describe.runIf(postgresUp)('HTTP platform', () => {
  let testApp: TestApp;
  let app: FastifyInstance;

  beforeAll(async () => {
    testApp = await createTestApp();
    app = await buildApp(testApp.config, { platform: testApp.platform, modules: testApp.modules });
    app.post(
      '/api/test/echo',
      {
        config: { public: true },
        schema: {
          body: Type.Object(
            { email: Type.String({ format: 'email' }), quantity: Type.Integer({ minimum: 1 }) },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => request.body,
    );
    app.get(
      '/api/test/query',
      {
        config: { public: true },
        schema: { querystring: Type.Object({ limit: Type.Integer(), ids: Type.Array(Type.String()) }) },
      },
      async (request) => request.query,
    );
    app.post('/api/test/no-body', { config: { public: true } }, async (request) => ({
      body: request.body ?? null,
    }));
    app.get('/api/test/boom', { config: { public: true } }, async () => {
      throw new Error('secret internal detail: password=hunter2');
    });
    // The database's refusals of text it cannot hold: a NUL (22021), and 22P05 by its code alone.
    app.get('/api/test/nul-text', { config: { public: true } }, async () => {
      await sql`select ${'a\u0000b'}::text`.execute(testApp.platform.db);
    });
    app.get('/api/test/untranslatable', { config: { public: true } }, async () => {
      throw Object.assign(new Error('character with byte sequence 0xe2 0x82 0xac has no equivalent'), {
        code: '22P05',
      });
    });
    // A database out of reach: nothing listens on port 1.
    app.get('/api/test/database-down', { config: { public: true } }, async () => {
      const unreachable = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none' });
      try {
        await unreachable.query('select 1');
      } finally {
        await unreachable.end();
      }
    });
    // Redis out of reach, as the request path's client sees it: no offline queue, no retries, a
    // command time-out (platform/redis.ts); nothing listens on port 1, and the second server never answers.
    app.get('/api/test/redis-down', { config: { public: true } }, async () => {
      const redis = new Redis('redis://127.0.0.1:1', {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      redis.on('error', () => undefined);
      try {
        await redis.get('key');
      } finally {
        redis.disconnect();
      }
    });
    app.get('/api/test/redis-stalled', { config: { public: true } }, async () => {
      const silent = net.createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const redis = new Redis((silent.address() as AddressInfo).port, '127.0.0.1', {
        commandTimeout: 200,
        maxRetriesPerRequest: 0,
      });
      redis.on('error', () => undefined);
      try {
        await redis.get('key');
      } finally {
        redis.disconnect();
        silent.close();
      }
    });
    app.get('/api/test/conflict', { config: { public: true } }, async () => {
      throw new AppError('insufficient_stock', 'Only 2 left of SKU-1');
    });
    app.get('/api/test/private', async () => ({ ok: true }));
    app.get('/api/test/manager', { config: { permission: 'write:refunds' } }, async () => ({ ok: true }));
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await testApp?.close();
  });

  it('answers liveness and readiness', async () => {
    expect((await app.inject('/health/live')).json()).toEqual({ status: 'ok' });
    const ready = await app.inject('/health/ready');
    expect(ready.statusCode).toBe(200);
    // Matched, not equal: readiness reports more than these two (the relay, owned by health.ts's tests).
    expect(ready.json()).toMatchObject({ status: 'ok', checks: { database: 'ok', redis: 'not_configured' } });
  });

  it('answers validation errors as problem+json with errors[]', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/test/echo',
      payload: { email: 'not-an-email', quantity: 0, extra: true },
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = response.json();
    expect(problem).toMatchObject({ status: 400, code: 'validation_failed', title: expect.any(String) });
    expect(problem.type).toMatch(/validation_failed$/);
    const paths = (problem.errors as { path: string }[]).map((error) => error.path).sort();
    expect(paths).toEqual(['email', 'extra', 'quantity']);
  });

  it('takes a JSON body as typed: null, text or a list where a number is due is refused, not converted', async () => {
    for (const quantity of [null, '3', [3], true]) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/test/echo',
        payload: { email: 'a@example.com', quantity },
      });
      expect(response.statusCode, JSON.stringify(quantity)).toBe(400);
      expect(response.json().errors).toEqual([expect.objectContaining({ path: 'quantity' })]);
    }
    // A query string is text: its values are read as the types its schema names.
    const query = await app.inject('/api/test/query?limit=5&ids=a');
    expect(query.json()).toEqual({ limit: 5, ids: ['a'] });
  });

  it('refuses text PostgreSQL cannot store (NUL, lone surrogates) as a validation error naming the field', async () => {
    for (const [payload, path] of [
      ['{"email":"a\\u0000b@example.com","quantity":1}', 'email'],
      ['{"email":"a@example.com","quantity":1,"list":["ok","\\ud800"]}', 'list.1'],
      ['{"email":"a@example.com","quantity":1,"\\udc00":1}', '\udc00'],
    ] as const) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/test/echo',
        headers: { 'content-type': 'application/json' },
        payload,
      });
      expect(response.statusCode, payload).toBe(400);
      expect(response.json()).toMatchObject({ code: 'validation_failed', errors: [{ path }] });
    }
    // A route of the API: the email once reached PostgreSQL, which refused it with a 500.
    const login = await app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"email":"a\\u0000b@example.com","password":"long enough password"}',
    });
    expect(login.statusCode, login.body).toBe(400);
    expect(login.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: 'email' }] });
    const query = await app.inject('/api/test/query?limit=5&ids=a%00b');
    expect(query.statusCode).toBe(400);
    expect(query.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: 'url' }] });
    // Escapes of text that can be stored pass: an emoji's surrogate pair, a tab.
    const fine = await app.inject({
      method: 'POST',
      url: '/api/test/no-body',
      headers: { 'content-type': 'application/json' },
      payload: '{"name":"\\ud83d\\ude00\\u0009"}',
    });
    expect(fine.json()).toEqual({ body: { name: '\u{1F600}\t' } });
    // Nested 50,000 deep: found where it is, not lost to a stack overflow.
    const deep = await app.inject({
      method: 'POST',
      url: '/api/test/no-body',
      headers: { 'content-type': 'application/json' },
      payload: `${'['.repeat(50_000)}"\\u0000"${']'.repeat(50_000)}`,
    });
    expect(deep.statusCode).toBe(400);
    expect(deep.json().code).toBe('validation_failed');
    expect(deep.json().errors[0].path).toBe(Array.from({ length: 50_000 }, () => '0').join('.'));
  });

  it('takes an empty body sent as JSON as no body', async () => {
    const empty = await app.inject({
      method: 'POST',
      url: '/api/test/no-body',
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    expect(empty.statusCode).toBe(200);
    expect(empty.json()).toEqual({ body: null });
    // A route that needs a body still says so.
    const missing = await app.inject({
      method: 'POST',
      url: '/api/test/echo',
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().code).toBe('validation_failed');
  });

  it('answers malformed JSON with a 400, not a 500', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/test/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"email":',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('validation_failed');
  });

  it('answers catalogue errors with their code and status', async () => {
    const response = await app.inject('/api/test/conflict');
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({ code: 'insufficient_stock', detail: 'Only 2 left of SKU-1' });
  });

  it('hides internals of unknown errors behind a 500 carrying the request id', async () => {
    const response = await app.inject({ url: '/api/test/boom', headers: { 'x-request-id': 'req-12345678' } });
    expect(response.statusCode).toBe(500);
    expect(response.headers['x-request-id']).toBe('req-12345678');
    expect(response.body).not.toContain('hunter2');
    expect(response.json()).toMatchObject({ code: 'internal_error', request_id: 'req-12345678' });
  });

  it("answers the database's refusal of the client's text as a validation error, not a 500", async () => {
    for (const url of ['/api/test/nul-text', '/api/test/untranslatable']) {
      const response = await app.inject(url);
      expect(response.statusCode, url).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json()).toMatchObject({ status: 400, code: 'validation_failed' });
      expect(response.body).not.toContain('byte sequence');
    }
  });

  it('answers 503, which says to retry, while the database is out of reach', async () => {
    const response = await app.inject('/api/test/database-down');
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ status: 503, code: 'service_unavailable' });
    expect(response.body).not.toContain('127.0.0.1');
  });

  it('answers a Redis out of reach or not answering with a 503 problem, wherever a request meets it', async () => {
    for (const url of ['/api/test/redis-down', '/api/test/redis-stalled']) {
      const response = await app.inject(url);
      expect(response.statusCode, url).toBe(503);
      expect(response.json()).toMatchObject({ status: 503, code: 'service_unavailable' });
      expect(response.headers['retry-after']).toBe('5');
    }
  });

  it('answers unknown routes with a 404 problem', async () => {
    const response = await app.inject('/commerce/nothing-here');
    expect(response.statusCode).toBe(404);
    expect(response.json().code).toBe('not_found');
  });

  it('sends the security headers on answers and refusals alike', async () => {
    for (const response of [
      await app.inject('/health/live'),
      await app.inject('/commerce/nothing-here'),
      await app.inject('/auth/me'),
    ]) {
      expect(response.headers['content-security-policy']).toContain("script-src 'self'");
      expect(response.headers['content-security-policy']).toContain("connect-src 'self' ws: wss:");
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['strict-transport-security']).toMatch(/^max-age=\d+/);
      expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(response.headers['x-powered-by']).toBeUndefined();
    }
  });

  it('guards every route that is not public', async () => {
    const missing = await app.inject('/api/test/private');
    expect(missing.statusCode).toBe(401);
    expect(missing.json().code).toBe('unauthenticated');
    const forged = await app.inject({ url: '/api/test/manager', headers: { authorization: 'Bearer x.y.z' } });
    expect(forged.statusCode).toBe(401);
  });

  it('answers a request that arrives while it closes with a 503 problem and Connection: close', async () => {
    const closing = await buildApp(testApp.config, {
      platform: testApp.platform,
      modules: { ...testApp.modules, list: [] },
    });
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let started = () => {};
    const handling = new Promise<void>((resolve) => (started = resolve));
    closing.get('/api/test/slow', { config: { public: true } }, async () => {
      started();
      await released;
      return { done: true };
    });
    let closeBegun = () => {};
    const closeBegan = new Promise<void>((resolve) => (closeBegun = resolve));
    // Runs after the app's own preClose hook, which was registered first.
    closing.addHook('preClose', (done) => {
      closeBegun();
      done();
    });
    await closing.listen({ port: 0, host: '127.0.0.1' });
    const { port } = closing.server.address() as AddressInfo;

    // A slow request holds the server open; the next one arrives on the same keep-alive socket
    // (pipelined) after close() has begun, as a balancer's pooled connection would send it.
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    const socketClosed = new Promise((resolve) => socket.once('close', resolve));
    socket.write('GET /api/test/slow HTTP/1.1\r\nHost: test\r\n\r\n');
    await handling;
    const closed = closing.close();
    await closeBegan;
    socket.write('GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    await closed;
    await socketClosed;

    const [slow, refused] = received.split(/(?=HTTP\/1\.1 )/);
    expect(slow).toMatch(/^HTTP\/1\.1 200 /);
    expect(slow).toContain('{"done":true}');
    const [head = '', body = ''] = (refused ?? '').split('\r\n\r\n');
    const headers = new Map(
      head
        .split('\r\n')
        .slice(1)
        .map((line) => [
          line.slice(0, line.indexOf(':')).toLowerCase(),
          line.slice(line.indexOf(':') + 1).trim(),
        ]),
    );
    expect(head).toMatch(/^HTTP\/1\.1 503 /);
    expect(headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(headers.get('connection')).toBe('close');
    expect(headers.get('retry-after')).toBe('1');
    expect(JSON.parse(body)).toMatchObject({ status: 503, code: 'shutting_down' });
  });

  it('serves the OpenAPI document', async () => {
    const response = await app.inject('/openapi.json');
    expect(response.statusCode).toBe(200);
    expect(response.json().openapi).toBe('3.1.0');
    expect(Object.keys(response.json().paths)).toContain('/health/ready');
  });
});

describe.runIf(postgresUp)('route layout', () => {
  it('every route of the API lives under an API path, so the guard covers it', async () => {
    const testApp = await createTestApp();
    const app = await buildApp(testApp.config, { platform: testApp.platform, modules: testApp.modules });
    const urls: string[] = [];
    app.addHook('onRoute', (route) => {
      urls.push(route.url);
    });
    await app.ready();
    await app.close();
    await testApp.close();
    const { isApiPath } = await import('../src/platform/http/paths');
    const strays = urls.filter(
      (url) => !isApiPath(url) && !url.startsWith('/assets/') && url !== '/index.html',
    );
    expect(strays).toEqual([]);
  });
});
