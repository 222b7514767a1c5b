/**
 * Realtime delivery: commit → WebSocket latency of commerce.order.created at 10 orders/s and at
 * half of the peak checkout rate measured first in the same run (REALTIME_BENCH_RATE overrides it),
 * through the production path (API process →
 * outbox → worker's relay → Redis Streams → the API process's stream reader → socket); then 10,000
 * sockets on one API process: its RSS, and the time for one event to reach all of them.
 * Latency is measured from the event's occurred_at (written in the order's transaction, just
 * before its commit) to its arrival at the client, on the same machine's clock.
 */
import fs from 'node:fs';
import type { RealtimeEventMessage } from '@tessera/contracts';
import WebSocket from 'ws';
import { SocketClient } from '../apps/api/src/modules/realtime/testing';
import type { PlatformProcess } from '../apps/api/test/support/cluster';
import { api, benchCluster, checkoutLoad, openShop, PRODUCTS, type Shop } from './checkout';
import { okPerSecond, percentile, report, succeeded } from './lib';

const SECONDS = 10;
const SOCKETS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
}

async function subscribedClient(base: string, token: string): Promise<SocketClient> {
  const client = await SocketClient.open(`${base}/ws?access_token=${token}`);
  client.send({ type: 'subscribe', channel: 'orders' });
  await client.next((m) => m.type === 'subscribed', 30_000);
  return client;
}

/** A bare socket subscribed to orders: the 10,000 do not parse what they receive. */
function bareSubscriber(base: string, token: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${base}/ws?access_token=${token}`);
    socket.once('open', () => socket.send(JSON.stringify({ type: 'subscribe', channel: 'orders' })));
    const onMessage = (raw: Buffer) => {
      if (!raw.includes('"subscribed"')) return;
      socket.off('message', onMessage);
      resolve(socket);
    };
    socket.on('message', onMessage);
    socket.once('error', reject);
  });
}

/** Places `rate` orders a second for `seconds`; resolves with each order's commit → socket latency. */
async function latencyAt(
  apiProcess: PlatformProcess,
  shop: Shop,
  client: SocketClient,
  rate: number,
  seconds: number,
): Promise<number[]> {
  const latencies = new Map<string, number>();
  const onMessage = (raw: Buffer) => {
    const message = JSON.parse(raw.toString('utf8')) as RealtimeEventMessage<{ order_id: string }>;
    if (message.type === 'event' && message.event_type === 'commerce.order.created')
      latencies.set(message.data.order_id, Date.now() - Date.parse(message.occurred_at));
  };
  client.socket.on('message', onMessage);
  const placed: Promise<string>[] = [];
  const started = Date.now();
  for (let i = 0; i < rate * seconds; i++) {
    const due = started + (i * 1000) / rate;
    if (due > Date.now()) await sleep(due - Date.now());
    const productId = shop.productIds[i % shop.productIds.length]!;
    placed.push(
      api<{ id: string }>(apiProcess.url, 'POST', '/commerce/orders', shop.auth, {
        lines: [{ product_id: productId, quantity: 1 }],
      }).then((order) => order.id),
    );
  }
  const ids = await Promise.all(placed);
  const deadline = Date.now() + 10_000;
  while (ids.some((id) => !latencies.has(id)) && Date.now() < deadline) await sleep(20);
  client.socket.off('message', onMessage);
  const missing = ids.filter((id) => !latencies.has(id)).length;
  if (missing) throw new Error(`${missing} of ${ids.length} orders never reached the socket`);
  return ids.map((id) => latencies.get(id)!).sort((a, b) => a - b);
}

/**
 * Waits until the worker reports, on its own /metrics, nothing left to relay (the outbox backlog)
 * or to deliver (every consumer group's lag and pending entries).
 */
async function drained(worker: PlatformProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const metrics = await (await fetch(`${worker.url}/metrics`)).text();
    const lines = metrics
      .split('\n')
      .filter((line) => /^tessera_(outbox_backlog|stream_consumer_lag)[ {]/.test(line));
    if (!lines.some((line) => line.startsWith('tessera_outbox_backlog ')))
      throw new Error('the worker does not report its outbox backlog');
    const behind = lines.reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    if (behind === 0) return;
    if (Date.now() > deadline) throw new Error(`the worker is still ${behind} events behind`);
    await sleep(200);
  }
}

export async function benchRealtime(): Promise<void> {
  const cluster = await benchCluster();
  const clients: SocketClient[] = [];
  const crowd: WebSocket[] = [];
  try {
    const [apiProcess] = cluster.apis as [PlatformProcess];
    const [worker] = cluster.workers as [PlatformProcess];
    const shop = await openShop(apiProcess, PRODUCTS, 100_000_000);
    const token = (shop.auth.authorization ?? '').replace(/^Bearer /, '');
    const base = apiProcess.url.replace(/^http/, 'ws');
    const watcher = await subscribedClient(base, token);
    clients.push(watcher);
    // Warm-up: first connections, JIT, prepared plans; then the shop's own events are digested.
    await latencyAt(apiProcess, shop, watcher, 10, 1);
    await drained(worker);

    const measure = async (label: string, ordersPerSecond: number, goal: number) => {
      const latencies = await latencyAt(apiProcess, shop, watcher, ordersPerSecond, SECONDS);
      report({
        benchmark: 'realtime',
        metric: `commit→socket p50 @${label}`,
        value: percentile(latencies, 50),
        unit: 'ms',
      });
      report({
        benchmark: 'realtime',
        metric: `commit→socket p99 @${label}`,
        value: percentile(latencies, 99),
        unit: 'ms',
        goal: `<= ${goal} ms`,
      });
    };
    await measure('10 orders/s', 10, 50);

    await checkoutLoad(apiProcess, shop, 3); // warm-up
    const peak = succeeded(await checkoutLoad(apiProcess, shop, 5), 'checkouts');
    const rate = Number(process.env.REALTIME_BENCH_RATE ?? Math.round(okPerSecond(peak) / 2));
    report({
      benchmark: 'realtime',
      metric: 'peak checkout (for half of it)',
      value: okPerSecond(peak),
      unit: 'orders/s',
    });
    // Latency is measured in a steady state: once the worker has digested the peak's backlog.
    await drained(worker);
    // Named without the rate, which varies by run, so that rounds of one figure are gathered.
    await measure('half of peak', rate, 250);

    const rssBefore = rssBytes(apiProcess.child.pid!);
    for (let i = 1; i < SOCKETS; i += 250) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(250, SOCKETS - i) }, () => bareSubscriber(base, token)),
      );
      crowd.push(...batch);
    }
    await sleep(1000);
    const rss = rssBytes(apiProcess.child.pid!);
    report({
      benchmark: 'realtime',
      metric: `API RSS with ${SOCKETS.toLocaleString('en-US')} sockets`,
      value: rss / 2 ** 20,
      unit: 'MiB',
      baseline: { name: 'RSS with one socket', value: rssBefore / 2 ** 20, unit: 'MiB' },
      goal: '<= 1,024 MiB',
    });

    // No other order is placed now: the next commerce.order.created is the broadcast. The first
    // socket parses it for its occurred_at; the others only look for its type.
    const sockets = [watcher.socket, ...crowd];
    let armed = false;
    let occurredAt = 0;
    let first = 0;
    let last = 0;
    let received = 0;
    const arrived = new Promise<void>((resolve) => {
      for (const socket of sockets) {
        socket.on('message', (raw: Buffer) => {
          if (!armed || !raw.includes('"commerce.order.created"')) return;
          if (socket === watcher.socket) {
            occurredAt = Date.parse((JSON.parse(raw.toString('utf8')) as RealtimeEventMessage).occurred_at);
          }
          last = Date.now();
          first ||= last;
          if (++received === sockets.length) resolve();
        });
      }
    });
    armed = true;
    await api(apiProcess.url, 'POST', '/commerce/orders', shop.auth, {
      lines: [{ product_id: shop.productIds[0]!, quantity: 1 }],
    });
    await Promise.race([arrived, sleep(15_000)]);
    if (received !== sockets.length) {
      throw new Error(`the broadcast reached ${received} of ${sockets.length} sockets`);
    }
    report({
      benchmark: 'realtime',
      metric: `one event to ${SOCKETS.toLocaleString('en-US')} sockets`,
      value: last - occurredAt,
      unit: 'ms',
      goal: '<= 1,000 ms',
    });
    report({
      benchmark: 'realtime',
      metric: 'first → last of those sockets',
      value: last - first,
      unit: 'ms',
    });
  } finally {
    for (const client of clients) client.socket.terminate();
    for (const socket of crowd) socket.terminate();
    await cluster.stop();
  }
}
