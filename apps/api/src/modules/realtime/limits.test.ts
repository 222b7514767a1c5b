import type { AddressInfo } from 'node:net';
import type { RealtimeEventMessage, ServerMessage } from '@tessera/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app';
import { registerTenant, type TestTenant } from '../../../test/support/auth';
import { serviceAvailable } from '../../../test/support/services';
import { Gate, MESSAGE_BURST, MESSAGE_RATE_PER_SECOND, TokenBucket, replayConcurrency } from './limits';
import type * as Replay from './replay';
import { SocketClient } from './testing';

/**
 * Every replay read of the process goes through this wrapper, which counts the reads and how many
 * run at once. Each read is held 20 ms first, so that reads started together surely overlap.
 */
const replays = vi.hoisted(() => ({ calls: 0, inFlight: 0, peak: 0 }));
vi.mock('./replay', async (importOriginal) => {
  const actual = await importOriginal<typeof Replay>();
  return {
    ...actual,
    missedEvents: async (...args: Parameters<typeof actual.missedEvents>) => {
      replays.calls++;
      replays.peak = Math.max(replays.peak, ++replays.inFlight);
      try {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return await actual.missedEvents(...args);
      } finally {
        replays.inFlight--;
      }
    },
  };
});

const postgresUp = await serviceAvailable('postgres');
const redisUp = postgresUp && (await serviceAvailable('redis'));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const POLICY_VIOLATION = 1008;

describe('the limits themselves', () => {
  it('a token bucket allows its burst, then its rate', () => {
    let now = 0;
    const bucket = new TokenBucket(MESSAGE_BURST, MESSAGE_RATE_PER_SECOND, () => now);
    for (let i = 0; i < MESSAGE_BURST; i++) expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    now += 1000 / MESSAGE_RATE_PER_SECOND;
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    // A client within the rate is never refused, however long it goes on.
    for (let i = 0; i < 1000; i++) {
      now += 1000 / MESSAGE_RATE_PER_SECOND;
      expect(bucket.take()).toBe(true);
    }
    // A quiet spell refills the burst, never more.
    now += 3_600_000;
    for (let i = 0; i < MESSAGE_BURST; i++) expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
  });

  it('a gate runs at most its limit at once, the others in their order', async () => {
    const gate = new Gate(2);
    const started: number[] = [];
    const releases: (() => void)[] = [];
    const runs = [0, 1, 2, 3].map((i) =>
      gate.run(async () => {
        started.push(i);
        await new Promise<void>((resolve) => releases.push(resolve));
        return i;
      }),
    );
    await vi.waitFor(() => expect(started).toEqual([0, 1]));
    expect(gate.queued).toBe(2);
    releases[1]!();
    await vi.waitFor(() => expect(started).toEqual([0, 1, 2]));
    expect(gate.active).toBe(2);
    releases[0]!();
    releases[2]!();
    await vi.waitFor(() => expect(started).toEqual([0, 1, 2, 3]));
    releases[3]!();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
    expect(gate.active).toBe(0);
    expect(replayConcurrency(20)).toBe(5);
    expect(replayConcurrency(1)).toBe(1);
  });
});

describe.runIf(postgresUp)('realtime socket limits', () => {
  let testApp: TestApp;
  let httpBase: string;
  let admin: TestTenant;
  let bystander: TestTenant;
  /** The id of an orders event of admin's tenant: a resume point that makes real replay reads. */
  let lastEventId: string;

  const connect = async (token: string) => {
    const client = await SocketClient.open(
      `${httpBase.replace(/^http/, 'ws')}/ws?access_token=${encodeURIComponent(token)}`,
    );
    await client.next((message) => message.type === 'ready');
    return client;
  };
  const closedWithin = (client: SocketClient, ms: number) =>
    Promise.race([client.closed, sleep(ms).then(() => null)]);

  beforeAll(async () => {
    testApp = await createTestApp({ redis: redisUp });
    const address = await testApp.app.listen({ port: 0, host: '127.0.0.1' });
    httpBase = address.replace('localhost', '127.0.0.1');
    testApp.platform.relay.start();
    admin = await registerTenant(testApp);
    bystander = await registerTenant(testApp);

    const watcher = await connect(admin.accessToken);
    watcher.send({ type: 'subscribe', channel: 'inventory' });
    await watcher.next((m) => m.type === 'subscribed');
    const product = await testApp.app.inject({
      method: 'POST',
      url: '/commerce/products',
      headers: admin.auth,
      payload: { sku: 'SKU-LIMITS', name: 'Mug', price: 1250, currency: 'EUR' },
    });
    expect(product.statusCode).toBe(201);
    const { id } = product.json<{ id: string }>();
    const stock = await testApp.app.inject({
      method: 'PUT',
      url: `/commerce/inventory/${id}`,
      headers: admin.auth,
      payload: { on_hand: 100, low_stock_threshold: 2 },
    });
    expect(stock.statusCode).toBe(200);
    await testApp.flushEvents();
    lastEventId = (await watcher.next<RealtimeEventMessage>((m) => m.type === 'event')).id;
    watcher.close();
  });

  afterAll(async () => {
    await testApp?.close();
  });

  beforeEach(() => {
    replays.calls = 0;
    replays.peak = 0;
  });

  it('a socket flooding subscribes gets one replay read at a time and is closed with 1008; others stay fast', async () => {
    const flooder = await connect(admin.accessToken);
    const bystanderSocket = await connect(bystander.accessToken);
    // Warmed up first, so that what is timed below is the API's answer, not the client's start.
    expect((await fetch(`${httpBase}/auth/me`, { headers: bystander.auth })).status).toBe(200);
    const subscribe = JSON.stringify({ type: 'subscribe', channel: 'inventory', last_event_id: lastEventId });
    for (let i = 0; i < 3000; i++) flooder.socket.send(subscribe);

    // Another user's requests meanwhile: the API, and their own socket.
    const timings: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const me = await fetch(`${httpBase}/auth/me`, { headers: bystander.auth });
      expect(me.status).toBe(200);
      timings.push(performance.now() - started);
    }
    bystanderSocket.send({ type: 'ping' });
    await bystanderSocket.next((m) => m.type === 'pong', 1000);

    const closed = await closedWithin(flooder, 3000);
    expect(closed).toEqual({ code: POLICY_VIOLATION, reason: 'too many messages' });
    // One read at a time; and the flood was cut off after its burst, so only a handful ran at all.
    expect(replays.peak).toBe(1);
    expect(replays.calls).toBeLessThanOrEqual(MESSAGE_BURST);
    // Before the limits these took seconds (5.8 s in this test, 2.3 s as first reported); now tens of ms.
    expect(Math.max(...timings)).toBeLessThan(1000);
    expect(bystanderSocket.socket.readyState).toBe(bystanderSocket.socket.OPEN);
    bystanderSocket.close();
  });

  it('a newer subscribe to a channel supersedes a replay still waiting; one replay runs at a time', async () => {
    const client = await connect(admin.accessToken);
    const resume = { last_event_id: lastEventId };
    client.send({ type: 'subscribe', channel: 'orders', ...resume });
    client.send({ type: 'subscribe', channel: 'inventory', ...resume });
    client.send({ type: 'subscribe', channel: 'inventory', ...resume });
    client.send({ type: 'subscribe', channel: 'notifications', ...resume });
    const subscribed = (channel: string) => (m: ServerMessage) =>
      m.type === 'subscribed' && m.channel === channel;
    await client.next(subscribed('orders'));
    await client.next(subscribed('notifications'));
    await client.next(subscribed('inventory'));
    // The first inventory replay had not started when the second came: it never reads.
    expect(replays.calls).toBe(3);
    expect(replays.peak).toBe(1);
    expect(client.messages.filter((m) => m.type === 'subscribed')).toHaveLength(3);
    expect(client.messages.filter((m) => m.type === 'error')).toEqual([]);
    client.close();
  });

  it('bounds the replay reads of all sockets together (a quarter of the pool at once)', async () => {
    const limit = replayConcurrency(testApp.config.DATABASE_POOL_SIZE);
    const clients = await Promise.all(Array.from({ length: limit * 3 }, () => connect(admin.accessToken)));
    for (const client of clients)
      client.send({ type: 'subscribe', channel: 'orders', last_event_id: lastEventId });
    await Promise.all(clients.map((client) => client.next((m) => m.type === 'subscribed')));
    expect(replays.calls).toBe(limit * 3);
    expect(replays.peak).toBeLessThanOrEqual(limit);
    for (const client of clients) client.close();
  });

  it('answers a message that is not JSON or not known with invalid_message, and stays open', async () => {
    const client = await connect(admin.accessToken);
    client.socket.send('{not json');
    client.send({ type: 'shout' });
    await client.next((m) => m.type === 'error');
    await vi.waitFor(() =>
      expect(client.messages.filter((m) => m.type === 'error' && m.code === 'invalid_message')).toHaveLength(
        2,
      ),
    );
    client.send({ type: 'ping' });
    await client.next((m) => m.type === 'pong');
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    client.close();
  });

  it('a socket is limited before it authenticates too', async () => {
    const address = testApp.app.server.address() as AddressInfo;
    const client = await SocketClient.open(`ws://127.0.0.1:${address.port}/ws`);
    for (let i = 0; i < 500; i++) client.socket.send('{not json');
    expect(await closedWithin(client, 3000)).toEqual({ code: POLICY_VIOLATION, reason: 'too many messages' });
    // What it was answered before the cut: at most one error per message of its burst.
    expect(client.messages.length).toBeLessThanOrEqual(MESSAGE_BURST);
  });
});
