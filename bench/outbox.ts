/**
 * The outbox relay's throughput: committed outbox rows published to Redis Streams per second,
 * beside redis-benchmark's XADD rate measured in the same run.
 */
import { uuidv7 } from '@tessera/contracts';
import { sql } from 'kysely';
import pino from 'pino';
import { withSystem } from '../apps/api/src/platform/db/tenant';
import { RedisStreamsBus } from '../apps/api/src/platform/events/redis-bus';
import { OutboxRelay } from '../apps/api/src/platform/events/relay';
import { createRedis } from '../apps/api/src/platform/redis';
import { createTestDatabase } from '../apps/api/test/support/database';
import { TEST_REDIS_URL } from '../apps/api/test/support/services';
import { redisBenchmark, report } from './lib';

export async function benchOutbox(events = 50_000): Promise<void> {
  const logger = pino({ level: 'warn' });
  const scratch = await createTestDatabase({ poolSize: 4 });
  const redis = createRedis(TEST_REDIS_URL, logger);
  const prefix = `bench:${uuidv7()}:`;
  try {
    const tenantId = uuidv7();
    await withSystem(scratch.database.db, async (tx) => {
      await tx.insertInto('tenants').values({ id: tenantId, name: 'Bench' }).execute();
      await sql`
        insert into outbox_events (id, tenant_id, type, stream, payload)
        select gen_random_uuid(), ${tenantId}, 'commerce.order.created', 'events:commerce',
               jsonb_build_object('id', gen_random_uuid(), 'type', 'commerce.order.created', 'tenant_id', ${tenantId}::text,
                 'occurred_at', now(), 'version', 1, 'actor', jsonb_build_object('type', 'system', 'id', null),
                 'data', jsonb_build_object('order_id', gen_random_uuid(), 'number', n, 'total', 4299, 'currency', 'EUR',
                   'lines', jsonb_build_array(jsonb_build_object('product_id', gen_random_uuid(), 'quantity', 2))))
        from generate_series(1, ${events}) as n`.execute(tx);
    });
    const bus = new RedisStreamsBus(redis, scratch.database.db, logger, {
      maxAttempts: 5,
      retryBaseMs: 1000,
      keyPrefix: prefix,
      maxStreamLength: events * 2,
    });
    const relay = new OutboxRelay(scratch.database, bus, logger, { batchSize: 1000, pollMs: 100 });
    const started = process.hrtime.bigint();
    const published = await relay.drain();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const length = await redis.xlen(`${prefix}events:commerce`);
    if (published !== events || length !== events)
      throw new Error(`published ${published}, stream holds ${length}`);

    const payload = JSON.stringify({ sample: 'x'.repeat(400) });
    const xadd = redisBenchmark([
      '-q',
      '-n',
      '200000',
      '-c',
      '8',
      '-P',
      '32',
      'XADD',
      `${prefix}xadd-baseline`,
      '*',
      'event',
      payload,
    ]);
    report({
      benchmark: 'outbox',
      metric: 'relay events/s into streams',
      value: events / seconds,
      unit: 'events/s',
      baseline: { name: 'redis-benchmark XADD', value: xadd, unit: 'req/s' },
      goal: '>= 5,000 events/s',
    });
  } finally {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await scratch.drop();
  }
}
