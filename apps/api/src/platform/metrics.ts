import { timingSafeEqual } from 'node:crypto';
import { EVENT_TYPES, streamOf } from '@tessera/contracts';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AppError } from './errors';
import { countUnreplayedDeadLetters } from './events/dead-letters';
import { problems } from './http/schemas';
import type { Platform } from './platform';

declare module 'fastify' {
  interface FastifyInstance {
    metrics?: Metrics;
  }
}

type XInfoGroup = (string | number)[];

/**
 * The Prometheus metrics of one app instance (a registry of its own, so that several instances in
 * one process, as in tests, do not collide): HTTP requests by route and status, the Node runtime
 * (event-loop lag among it), database pool, outbox backlog and age, events published and
 * dead-lettered, stream consumer lag, and gauges other modules add (WebSocket connections).
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'method' | 'route' | 'status'>;

  constructor(private readonly platform: Platform) {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    this.requests = new Counter({
      name: 'tessera_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'tessera_http_request_duration_seconds',
      help: 'HTTP request latency, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    new Gauge({
      name: 'tessera_db_pool_connections',
      help: 'Database pool connections, by state (total, idle, waiting requests)',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const stats = platform.database.poolStats();
        this.set({ state: 'total' }, stats.total);
        this.set({ state: 'idle' }, stats.idle);
        this.set({ state: 'waiting' }, stats.waiting);
      },
    });
    new Gauge({
      name: 'tessera_outbox_backlog',
      help: 'Committed outbox events not yet published to the bus (the relay lag)',
      registers: [this.registry],
      async collect() {
        this.set(await platform.relay.backlog());
      },
    });
    new Gauge({
      name: 'tessera_outbox_oldest_unpublished_seconds',
      help: 'Age of the oldest committed outbox event not yet published (0 when none waits)',
      registers: [this.registry],
      async collect() {
        this.set(await platform.relay.oldestUnpublishedAge());
      },
    });
    // Counted where they happen, by the relay and the bus of this process.
    this.registry.registerMetric(platform.relay.published);
    this.registry.registerMetric(platform.bus.deadLettered);
    new Gauge({
      name: 'tessera_dead_letters_unreplayed',
      help: 'Dead letters not replayed yet, by consumer (all processes)',
      labelNames: ['consumer'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const { consumer, count } of await countUnreplayedDeadLetters(platform.db))
          this.set({ consumer }, count);
      },
    });
    const redis = platform.redis;
    if (redis) {
      const prefix = platform.config.REDIS_KEY_PREFIX;
      new Gauge({
        name: 'tessera_stream_consumer_lag',
        help: 'Stream entries not yet delivered to a consumer group (lag) or delivered and unacknowledged (pending)',
        labelNames: ['stream', 'group', 'kind'],
        registers: [this.registry],
        async collect() {
          this.reset();
          // The streams are known from the event catalogue: no KEYS scan of a Redis that may be shared.
          const streams = [...new Set(EVENT_TYPES.map(streamOf))].map((stream) => prefix + stream);
          for (const stream of streams) {
            const groups = (await redis.xinfo('GROUPS', stream).catch(() => [])) as XInfoGroup[];
            for (const group of groups) {
              const field = (name: string) => group[group.indexOf(name) + 1];
              const labels = { stream: stream.slice(prefix.length), group: String(field('name')) };
              this.set({ ...labels, kind: 'lag' }, Number(field('lag') ?? 0));
              this.set({ ...labels, kind: 'pending' }, Number(field('pending') ?? 0));
            }
          }
        },
      });
    }
  }

  /** Adds a gauge read at scrape time. */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Counts every request and serves `GET /metrics`. The endpoint is meant for the internal network
 * (a scraper beside the service); with METRICS_TOKEN set it also needs that bearer token.
 */
export function registerMetrics(app: FastifyInstance, platform: Platform): Metrics {
  const metrics = new Metrics(platform);
  app.decorate('metrics', metrics);
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL: ids would make one series per resource.
    const route = request.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return;
    metrics.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });
  const token = platform.config.METRICS_TOKEN;
  app.get(
    '/metrics',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics (text exposition format)',
        response: { 200: { type: 'string' }, ...problems(401) },
      },
    },
    async (request, reply) => {
      if (token) {
        const given = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
        if (!sameSecret(given, token))
          throw new AppError('unauthenticated', 'The metrics token is required', {
            headers: { 'www-authenticate': 'Bearer' },
          });
      }
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
  );
  return metrics;
}
