import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Platform } from '../platform';
import { within } from '../timeouts';

/** The relay counts as stalled once the first event waiting to be published is older than this. */
export const RELAY_STALLED_AFTER_SECONDS = 60;

const CheckState = Type.Union([Type.Literal('ok'), Type.Literal('failing'), Type.Literal('not_configured')]);
const RelayState = Type.Union([Type.Literal('ok'), Type.Literal('stalled'), Type.Literal('unknown')]);
const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('unavailable')]),
  checks: Type.Optional(Type.Object({ database: CheckState, redis: CheckState, relay: RelayState })),
  /** Age of the oldest committed event not yet published; absent when it could not be read. */
  relay_lag_seconds: Type.Optional(Type.Integer({ minimum: 0 })),
});

/**
 * Liveness (the process answers) and readiness (its database, and Redis when configured, answer).
 * Readiness also reports whether the outbox relay keeps up, but a stalled relay makes it
 * `degraded` with a 200, never a 503: the outbox is shared, so every process, API or worker, would
 * see the stall at once, and taking them all out of service (or holding back a roll-out that may
 * bring the fix) would not restart the relay. It is for alerts and operators, not for probes.
 */
export function healthRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/health/live',
      { config: { public: true }, schema: { tags: ['health'], response: { 200: Health } } },
      async () => ({ status: 'ok' as const }),
    );
    app.get(
      '/health/ready',
      { config: { public: true }, schema: { tags: ['health'], response: { 200: Health, 503: Health } } },
      async (_request, reply) => {
        const [database, redis, relayLag] = await Promise.all([
          within(platform.database.ping(), 2000).then(
            () => 'ok' as const,
            () => 'failing' as const,
          ),
          platform.redis
            ? within(platform.redis.ping(), 2000).then(
                () => 'ok' as const,
                () => 'failing' as const,
              )
            : ('not_configured' as const),
          within(platform.relay.oldestUnpublishedAge(), 2000).then(
            (age) => Math.floor(age),
            () => null,
          ),
        ]);
        const relay =
          relayLag === null ? 'unknown' : relayLag > RELAY_STALLED_AFTER_SECONDS ? 'stalled' : 'ok';
        const ready = database === 'ok' && redis !== 'failing';
        const status = !ready ? 'unavailable' : relay === 'stalled' ? 'degraded' : 'ok';
        return reply.code(ready ? 200 : 503).send({
          status,
          checks: { database, redis, relay },
          ...(relayLag === null ? {} : { relay_lag_seconds: relayLag }),
        });
      },
    );
  };
}
