import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  REALTIME_CLOSE,
  streamOf,
  uuidv7,
  type EventEnvelope,
  type RealtimeEventMessage,
  type ServerMessage,
} from '@tessera/contracts';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app';
import {
  addMember,
  login,
  registerTenant,
  type AuthHeaders,
  type TestTenant,
} from '../../../test/support/auth';
import { serviceAvailable } from '../../../test/support/services';
import { AppError } from '../../platform/errors';
import { replayDeadLetters } from '../../platform/events/dead-letters';
import type { RealtimeModule } from './index';
import { HEARTBEAT_CHECKS_AT_ONCE } from './limits';
import { SocketClient } from './testing';

const postgresUp = await serviceAvailable('postgres');
const redisUp = postgresUp && (await serviceAvailable('redis'));
const apiRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const isEvent = (type: string, channel?: string) => (message: ServerMessage) =>
  message.type === 'event' && message.event_type === type && (!channel || message.channel === channel);
const isOrderEvent = (orderId: string) => (message: ServerMessage) =>
  message.type === 'event' &&
  message.event_type === 'commerce.order.created' &&
  (message.data as { order_id: string }).order_id === orderId;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A product with stock, and a way to order it: the commerce API as a client uses it. */
async function shop(testApp: TestApp, auth: AuthHeaders) {
  const product = await testApp.app.inject({
    method: 'POST',
    url: '/commerce/products',
    headers: auth,
    payload: {
      sku: `SKU-${Math.random().toString(36).slice(2, 8)}`,
      name: 'Mug',
      price: 1250,
      currency: 'EUR',
    },
  });
  expect(product.statusCode).toBe(201);
  const productId = product.json<{ id: string }>().id;
  const stock = await testApp.app.inject({
    method: 'PUT',
    url: `/commerce/inventory/${productId}`,
    headers: auth,
    payload: { on_hand: 1000, low_stock_threshold: 2 },
  });
  expect(stock.statusCode).toBe(200);
  return {
    productId,
    order: async (quantity = 1): Promise<{ id: string; committedAt: number }> => {
      const response = await testApp.app.inject({
        method: 'POST',
        url: '/commerce/orders',
        headers: auth,
        payload: { lines: [{ product_id: productId, quantity }] },
      });
      expect(response.statusCode).toBe(201);
      return { id: response.json<{ id: string }>().id, committedAt: Date.now() };
    },
  };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.runIf(redisUp)('realtime over Redis streams', () => {
  let testApp: TestApp;
  let base: string;
  let admin: TestTenant;
  let other: TestTenant;

  const connect = async (token: string) => {
    const client = await SocketClient.open(`${base}/ws?access_token=${encodeURIComponent(token)}`);
    await client.next((message) => message.type === 'ready');
    return client;
  };
  const subscribed = async (token: string, channel: string, lastEventId?: string) => {
    const client = await connect(token);
    client.send({ type: 'subscribe', channel, ...(lastEventId ? { last_event_id: lastEventId } : {}) });
    await client.next((message) => message.type === 'subscribed' && message.channel === channel);
    return client;
  };

  beforeAll(async () => {
    testApp = await createTestApp({ redis: true, env: { REALTIME_AUTH_TIMEOUT_MS: '300' } });
    const address = await testApp.app.listen({ port: 0, host: '127.0.0.1' });
    base = address.replace(/^http/, 'ws');
    // The relay runs as in production (woken by NOTIFY), so the latency measured is the real one.
    testApp.platform.relay.start();
    // And the consumers (analytics' rollups feed the dashboard channel), as a worker runs them.
    await testApp.platform.bus.start();
    admin = await registerTenant(testApp);
    other = await registerTenant(testApp);
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('refuses a socket without a valid token', async () => {
    await expect(SocketClient.open(`${base}/ws?access_token=not-a-token`)).rejects.toThrow('401');
    const silent = await SocketClient.open(`${base}/ws`);
    expect((await silent.closed).code).toBe(4401);
    const wrong = await SocketClient.open(`${base}/ws`);
    wrong.send({ type: 'auth', token: 'forged' });
    expect(await wrong.next((m) => m.type === 'error')).toMatchObject({ code: 'unauthenticated' });
    expect((await wrong.closed).code).toBe(4401);
  });

  it('accepts the token in a first auth message', async () => {
    const client = await SocketClient.open(`${base}/ws`);
    client.send({ type: 'auth', token: admin.accessToken });
    expect(await client.next((m) => m.type === 'ready')).toMatchObject({
      user_id: admin.user.id,
      tenant_id: admin.tenant.id,
    });
    client.send({ type: 'ping' });
    await client.next((m) => m.type === 'pong');
    client.close();
  });

  it('delivers commerce.order.created within 1 s of the commit, and nothing to another tenant', async () => {
    const mine = await subscribed(admin.accessToken, 'orders');
    const theirs = await subscribed(other.accessToken, 'orders');
    const theirNotices = await subscribed(other.accessToken, 'notifications');
    const { order } = await shop(testApp, admin.auth);
    const placed = await order();
    const event = await mine.next<RealtimeEventMessage>(isOrderEvent(placed.id), 1000);
    const latency = Date.now() - placed.committedAt;
    expect(latency).toBeLessThan(1000);
    expect(event).toMatchObject({ channel: 'orders', event_type: 'commerce.order.created' });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(event.occurred_at)).not.toBeNaN();
    await sleep(300);
    expect(theirs.messages.filter((m) => m.type === 'event')).toEqual([]);
    expect(theirNotices.messages.filter((m) => m.type === 'event')).toEqual([]);
    for (const client of [mine, theirs, theirNotices]) client.close();
  });

  it('does not send a replayed dead letter to the sockets again', async () => {
    const client = await subscribed(admin.accessToken, 'orders');
    const { order } = await shop(testApp, admin.auth);
    const placed = await order();
    const event = await client.next<RealtimeEventMessage>(isOrderEvent(placed.id));
    // Another consumer failed on it for good; the operator replays its dead letters.
    const { payload } = await testApp.platform.db
      .selectFrom('outbox_events')
      .select('payload')
      .where('id', '=', event.id)
      .executeTakeFirstOrThrow();
    await testApp.platform.db
      .insertInto('dead_letters')
      .values({
        consumer: 'realtime-replay-probe',
        event_id: event.id,
        stream: streamOf('commerce.order.created'),
        payload: JSON.stringify(payload),
        error: 'refused',
        attempts: 5,
      })
      .execute();
    expect(
      await replayDeadLetters(testApp.platform.db, testApp.platform.bus, {
        consumer: 'realtime-replay-probe',
      }),
    ).toEqual({ replayed: 1 });
    // The next order's event comes after the replayed entry on the same stream: once it is here,
    // the replay has been read too.
    const next = await order();
    await client.next<RealtimeEventMessage>(isOrderEvent(next.id));
    expect(client.messages.filter((m) => m.type === 'event' && m.id === event.id)).toHaveLength(1);
    client.close();
  });

  it('needs the read permission of a channel; notifications go only to users who may act on them', async () => {
    const shopper = await addMember(testApp, admin, ['user']);
    const client = await connect(shopper.accessToken);
    client.send({ type: 'subscribe', channel: 'orders' });
    expect(await client.next((m) => m.type === 'error')).toMatchObject({
      code: 'forbidden',
      channel: 'orders',
    });
    client.send({ type: 'subscribe', channel: 'notifications' });
    await client.next((m) => m.type === 'subscribed');
    const adminNotices = await subscribed(admin.accessToken, 'notifications');

    const { order } = await shop(testApp, admin.auth);
    const placed = await order();
    const cancel = await testApp.app.inject({
      method: 'POST',
      url: `/commerce/orders/${placed.id}/cancel`,
      headers: admin.auth,
    });
    expect(cancel.statusCode).toBe(200);
    const notice = await adminNotices.next<RealtimeEventMessage>(
      isEvent('commerce.order.status_changed', 'notifications'),
    );
    expect(notice.data).toMatchObject({ kind: 'order_status', order_id: placed.id });
    await sleep(300);
    expect(client.messages.filter((m) => m.type === 'event')).toEqual([]);
    client.close();
    adminNotices.close();
  });

  it('replays exactly the missed events on resume, and says when the gap is too old', async () => {
    const { order } = await shop(testApp, admin.auth);
    const first = await subscribed(admin.accessToken, 'orders');
    const seen = await order();
    const last = await first.next<RealtimeEventMessage>(isOrderEvent(seen.id));
    first.close();
    await first.closed;

    const missed = [await order(), await order(), await order()];
    const resumed = await connect(admin.accessToken);
    resumed.send({ type: 'subscribe', channel: 'orders', last_event_id: last.id });
    const done = await resumed.next((m) => m.type === 'subscribed');
    expect(done).toMatchObject({ replayed: 3 });
    const replayed = resumed.messages.filter((m): m is RealtimeEventMessage => m.type === 'event');
    expect(replayed.map((m) => (m.data as { order_id: string }).order_id)).toEqual(missed.map((o) => o.id));

    // Live events follow the replay, once each.
    const after = await order();
    await resumed.next(isOrderEvent(after.id));
    await sleep(200);
    const ids = resumed.messages.filter((m) => m.type === 'event').map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(4);
    resumed.close();

    // Another tenant's event id is unknown here: a gap, never their events.
    const stranger = await connect(other.accessToken);
    stranger.send({ type: 'subscribe', channel: 'orders', last_event_id: last.id });
    expect(await stranger.next((m) => m.type === 'error')).toMatchObject({
      code: 'replay_gap',
      channel: 'orders',
    });
    expect(await stranger.next((m) => m.type === 'subscribed')).toMatchObject({ replayed: 0 });
    expect(stranger.messages.filter((m) => m.type === 'event')).toEqual([]);
    stranger.close();
  });

  it('counts on resume only the replayed events the socket was sent', async () => {
    const shopper = await addMember(testApp, admin, ['user']);
    const { order } = await shop(testApp, admin.auth);
    const watcher = await subscribed(admin.accessToken, 'orders');
    const adminNotices = await subscribed(admin.accessToken, 'notifications');
    const placed = await order();
    const last = await watcher.next<RealtimeEventMessage>(isOrderEvent(placed.id));
    const cancel = await testApp.app.inject({
      method: 'POST',
      url: `/commerce/orders/${placed.id}/cancel`,
      headers: admin.auth,
    });
    expect(cancel.statusCode).toBe(200);
    await adminNotices.next(isEvent('commerce.order.status_changed', 'notifications'));
    for (const client of [watcher, adminNotices]) client.close();

    // The cancel's notice is for those who may read orders: the shopper is told of nothing.
    const shopperResumed = await subscribed(shopper.accessToken, 'notifications', last.id);
    expect(shopperResumed.messages.find((m) => m.type === 'subscribed')).toMatchObject({ replayed: 0 });
    expect(shopperResumed.messages.filter((m) => m.type === 'event')).toEqual([]);
    const adminResumed = await subscribed(admin.accessToken, 'notifications', last.id);
    const sent = adminResumed.messages.filter((m) => m.type === 'event');
    expect(sent.length).toBeGreaterThan(0);
    expect(adminResumed.messages.find((m) => m.type === 'subscribed')).toMatchObject({
      replayed: sent.length,
    });
    for (const client of [shopperResumed, adminResumed]) client.close();
  });

  it('replays an event numbered before the resume point that committed after it', async () => {
    const { order } = await shop(testApp, admin.auth);
    const earlier = await order();
    const first = await subscribed(admin.accessToken, 'orders');
    // A transaction that took its outbox number and has not committed yet.
    const late = new pg.Client({ connectionString: testApp.testDatabase.url });
    await late.connect();
    const template = await late.query<{ payload: EventEnvelope }>(
      `select payload from outbox_events where payload -> 'data' ->> 'order_id' = $1 and type = $2`,
      [earlier.id, 'commerce.order.created'],
    );
    const lateEvent = { ...template.rows[0]!.payload, id: uuidv7() };
    await late.query('begin');
    await late.query(
      'insert into outbox_events (id, tenant_id, type, stream, payload) values ($1, $2, $3, $4, $5)',
      [lateEvent.id, admin.tenant.id, lateEvent.type, streamOf(lateEvent.type), JSON.stringify(lateEvent)],
    );
    // One numbered after it commits first, goes out, and is the last event the client saw.
    const seen = await order();
    const last = await first.next<RealtimeEventMessage>(isOrderEvent(seen.id));
    first.close();
    await first.closed;
    await late.query('commit');
    await late.end();
    await vi.waitFor(
      async () => {
        const marked = await testApp.platform.db
          .selectFrom('outbox_events')
          .select('published_at')
          .where('id', '=', lateEvent.id)
          .executeTakeFirstOrThrow();
        expect(marked.published_at).not.toBeNull();
      },
      { timeout: 5000, interval: 50 },
    );

    const resumed = await connect(admin.accessToken);
    resumed.send({ type: 'subscribe', channel: 'orders', last_event_id: last.id });
    expect(await resumed.next((m) => m.type === 'subscribed')).toMatchObject({ replayed: 1 });
    const replayed = resumed.messages.filter((m): m is RealtimeEventMessage => m.type === 'event');
    expect(replayed.map((m) => m.id)).toEqual([lateEvent.id]);
    resumed.close();
  });

  it('replays across the upgrade that numbered publications: rows published before it come first', async () => {
    const { order } = await shop(testApp, admin.auth);
    const first = await subscribed(admin.accessToken, 'orders');
    const placed = [await order(), await order(), await order()];
    const seen = await first.next<RealtimeEventMessage>(isOrderEvent(placed[0]!.id));
    await first.next(isOrderEvent(placed[2]!.id));
    first.close();
    await first.closed;
    // The upgrade that numbers publications came after the second: it and everything published
    // before it have no batch number.
    await sql`update outbox_events set published_batch = null where published_batch <= (
        select published_batch from outbox_events
        where type = 'commerce.order.created' and payload -> 'data' ->> 'order_id' = ${placed[1]!.id})`.execute(
      testApp.platform.db,
    );

    const resumed = await connect(admin.accessToken);
    resumed.send({ type: 'subscribe', channel: 'orders', last_event_id: seen.id });
    expect(await resumed.next((m) => m.type === 'subscribed')).toMatchObject({ replayed: 2 });
    const replayed = resumed.messages.filter((m): m is RealtimeEventMessage => m.type === 'event');
    expect(replayed.map((m) => (m.data as { order_id: string }).order_id)).toEqual([
      placed[1]!.id,
      placed[2]!.id,
    ]);
    resumed.close();
  });

  it('pushes the dashboard figures as orders happen', async () => {
    const client = await subscribed(admin.accessToken, 'dashboard');
    const { order } = await shop(testApp, admin.auth);
    await order(2);
    const pushed = await client.next<RealtimeEventMessage>(
      (m) => m.type === 'event' && m.channel === 'dashboard' && (m.data as { orders: number }).orders >= 1,
    );
    expect(pushed.data).toMatchObject({ date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
    // The rollups are written by the analytics consumer, maybe after this push: the settling push
    // brings the figures REST shows.
    const rest = await testApp.app.inject({ url: '/api/analytics/dashboard', headers: admin.auth });
    expect(rest.statusCode).toBe(200);
    const restOrders = rest.json<{ orders: number }>().orders;
    await client.next(
      (m) =>
        m.type === 'event' &&
        m.channel === 'dashboard' &&
        (m.data as { orders: number }).orders === restOrders,
    );
    client.close();
  });

  it('a logout closes the sockets of that session only', async () => {
    const member = await addMember(testApp, admin, ['staff']);
    const ofSession = await subscribed(member.accessToken, 'orders');
    const ofAdmin = await subscribed(admin.accessToken, 'orders');
    const logout = await testApp.app.inject({ method: 'POST', url: '/auth/logout', headers: member.auth });
    expect(logout.statusCode).toBe(204);
    const closed = await Promise.race([ofSession.closed, sleep(2000).then(() => null)]);
    expect(closed?.code).toBe(4403);
    expect(ofAdmin.socket.readyState).toBe(ofAdmin.socket.OPEN);
    ofAdmin.close();
  });

  it.each(['the query', 'an auth message'])(
    'a logout between the token check and the socket joining the hub still closes it (token in %s)',
    async (how) => {
      const member = await addMember(testApp, admin, ['staff']);
      const realtime = testApp.modules.list.find((m) => m.name === 'realtime') as RealtimeModule;
      const verifier = testApp.modules.verifier;
      const verify = verifier.verify.bind(verifier);
      const announced = vi.spyOn(realtime.hub, 'closeSession');
      // The logout lands after the member's token was found live, before the socket is in the hub.
      const verifying = vi.spyOn(verifier, 'verify').mockImplementation(async (token) => {
        const principal = await verify(token);
        if (token !== member.accessToken) return principal;
        const logout = await testApp.app.inject({
          method: 'POST',
          url: '/auth/logout',
          headers: member.auth,
        });
        expect(logout.statusCode).toBe(204);
        // This process heard the announcement, and had no socket of that session to close yet.
        await vi.waitFor(() => expect(announced).toHaveBeenCalledWith(principal.sessionId), {
          timeout: 2000,
        });
        expect(announced.mock.results.at(-1)).toEqual({ type: 'return', value: 0 });
        return principal;
      });
      try {
        const client =
          how === 'the query'
            ? await SocketClient.open(`${base}/ws?access_token=${encodeURIComponent(member.accessToken)}`)
            : await SocketClient.open(`${base}/ws`);
        if (how === 'an auth message') client.send({ type: 'auth', token: member.accessToken });
        const closed = await Promise.race([client.closed, sleep(2000).then(() => null)]);
        expect(closed?.code).toBe(4403);
        expect(client.messages.at(-1)).toMatchObject({ type: 'error', code: 'unauthenticated' });
        expect(verifying).toHaveBeenCalledWith(member.accessToken);
      } finally {
        verifying.mockRestore();
        announced.mockRestore();
      }
    },
  );

  describe('across API processes', () => {
    let child: ChildProcess | null = null;
    let childBase = '';

    beforeAll(async () => {
      const port = await freePort();
      child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: apiRoot,
        env: {
          ...process.env,
          NODE_ENV: 'test',
          LOG_LEVEL: 'warn',
          ROLE: 'api',
          PORT: String(port),
          HOST: '127.0.0.1',
          DATABASE_URL: testApp.config.DATABASE_URL,
          REDIS_URL: testApp.config.REDIS_URL,
          REDIS_KEY_PREFIX: testApp.config.REDIS_KEY_PREFIX,
          // The same master key, so the second process opens the same signing keys.
          DATA_DIR: testApp.config.DATA_DIR,
        },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      childBase = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 90_000;
      for (;;) {
        const ready = await fetch(`${childBase}/health/ready`).then(
          (response) => response.ok,
          () => false,
        );
        if (ready) break;
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error('the second API process did not start');
        await sleep(200);
      }
    }, 120_000);

    afterAll(async () => {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    });

    it('an order made through one process reaches a socket on the other', async () => {
      const remote = await SocketClient.open(
        `${childBase.replace(/^http/, 'ws')}/ws?access_token=${admin.accessToken}`,
      );
      await remote.next((m) => m.type === 'ready');
      remote.send({ type: 'subscribe', channel: 'orders' });
      await remote.next((m) => m.type === 'subscribed');
      const { order } = await shop(testApp, admin.auth);
      const placed = await order();
      await remote.next(isOrderEvent(placed.id), 1000);
      expect(Date.now() - placed.committedAt).toBeLessThan(1000);

      // A logout on this process closes the session's socket on the other one.
      const member = await addMember(testApp, admin, ['staff']);
      const elsewhere = await SocketClient.open(
        `${childBase.replace(/^http/, 'ws')}/ws?access_token=${member.accessToken}`,
      );
      await elsewhere.next((m) => m.type === 'ready');
      await testApp.app.inject({ method: 'POST', url: '/auth/logout', headers: member.auth });
      const closed = await Promise.race([elsewhere.closed, sleep(2000).then(() => null)]);
      expect(closed?.code).toBe(4403);
      remote.close();
    });
  });
});

describe.runIf(postgresUp)('realtime in the embedded default (in-process bus)', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp();
    await testApp.app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('delivers committed events to the sockets of the tenant', async () => {
    const admin = await registerTenant(testApp);
    const address = testApp.app.server.address() as net.AddressInfo;
    const client = await SocketClient.open(
      `ws://127.0.0.1:${address.port}/ws?access_token=${admin.accessToken}`,
    );
    await client.next((m) => m.type === 'ready');
    client.send({ type: 'subscribe', channel: 'inventory' });
    await client.next((m) => m.type === 'subscribed');
    const { productId } = await shop(testApp, admin.auth);
    await testApp.flushEvents();
    const event = await client.next<RealtimeEventMessage>(isEvent('inventory.stock.updated', 'inventory'));
    expect(event.data).toMatchObject({ product_id: productId, on_hand: 1000 });
    client.close();
  });

  it('closes its sockets with 1001 when the server shuts down, so clients know to reconnect', async () => {
    const admin = await registerTenant(testApp);
    const address = testApp.app.server.address() as net.AddressInfo;
    const client = await SocketClient.open(
      `ws://127.0.0.1:${address.port}/ws?access_token=${admin.accessToken}`,
    );
    await client.next((m) => m.type === 'ready');
    await testApp.app.close();
    expect((await client.closed).code).toBe(REALTIME_CLOSE.shuttingDown);
  });
});

describe.runIf(postgresUp)('the heartbeat checks the tokens of open sockets again', () => {
  let testApp: TestApp;
  let wsBase: string;
  let admin: TestTenant;

  const connect = async (token: string) => {
    const client = await SocketClient.open(`${wsBase}/ws?access_token=${encodeURIComponent(token)}`);
    await client.next((message) => message.type === 'ready');
    return client;
  };
  const closedWithin = (client: SocketClient, ms: number) =>
    Promise.race([client.closed, sleep(ms).then(() => null)]);

  beforeAll(async () => {
    // Sign-ins enough for a dozen sessions of one user.
    testApp = await createTestApp({
      env: { REALTIME_HEARTBEAT_MS: '100', RATE_LIMIT_LOGIN_PER_MINUTE: '100' },
    });
    const address = await testApp.app.listen({ port: 0, host: '127.0.0.1' });
    wsBase = address.replace(/^http/, 'ws');
    admin = await registerTenant(testApp);
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('keeps the sockets whose session cannot be checked, and closes them once it is refused', async () => {
    const clients = await Promise.all([1, 2, 3].map(() => connect(admin.accessToken)));
    // Redis or the database down: the revocation list cannot be read.
    const checks = vi
      .spyOn(testApp.modules.verifier, 'ensureActive')
      .mockRejectedValue(new AppError('service_unavailable', 'Sessions cannot be checked right now'));
    await vi.waitFor(() => expect(checks.mock.calls.length).toBeGreaterThanOrEqual(3), { timeout: 2000 });
    for (const client of clients) {
      expect(client.socket.readyState).toBe(client.socket.OPEN);
      client.send({ type: 'ping' });
      await client.next((m) => m.type === 'pong');
    }
    checks.mockRejectedValue(new AppError('unauthenticated', 'The session has ended'));
    for (const client of clients) expect((await closedWithin(client, 2000))?.code).toBe(4401);
  });

  it('checks each token once a beat, several at once', async () => {
    const others = await Promise.all(
      Array.from({ length: HEARTBEAT_CHECKS_AT_ONCE + 2 }, () =>
        login(testApp, admin.user.email, admin.password),
      ),
    );
    const tokens = [admin.accessToken, ...others.map((session) => session.accessToken)];
    // Two sockets of each token (two tabs, say): one check serves both.
    const clients = await Promise.all([...tokens, ...tokens].map((token) => connect(token)));
    const held: (() => void)[] = [];
    const checked: string[] = [];
    vi.spyOn(testApp.modules.verifier, 'ensureActive').mockImplementation(async (principal) => {
      checked.push(principal.sessionId);
      await new Promise<void>((resolve) => held.push(resolve));
    });
    await vi.waitFor(() => expect(held).toHaveLength(HEARTBEAT_CHECKS_AT_ONCE), { timeout: 2000 });
    // No more start while they wait, whatever the beats meanwhile.
    await sleep(300);
    expect(held).toHaveLength(HEARTBEAT_CHECKS_AT_ONCE);
    for (const release of held.splice(0)) release();
    await vi.waitFor(() => expect(checked).toHaveLength(tokens.length), { timeout: 2000 });
    expect(new Set(checked).size).toBe(tokens.length);
    for (const release of held.splice(0)) release();
    for (const client of clients) {
      expect(client.socket.readyState).toBe(client.socket.OPEN);
      client.close();
    }
  });
});
