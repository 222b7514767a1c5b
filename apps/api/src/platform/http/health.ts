import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Platform } from '../platform';

const CheckState = Type.Union([Type.Literal('ok'), Type.Literal('failing'), Type.Literal('not_configured')]);
const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  checks: Type.Optional(Type.Object({ database: CheckState, redis: CheckState })),
});

const within = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms).unref()),
  ]);

/** Liveness (the process answers) and readiness (its database, and Redis when configured, answer). */
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
        const database = await within(platform.database.ping(), 2000).then(
          () => 'ok' as const,
          () => 'failing' as const,
        );
        const redis = platform.redis
          ? await within(platform.redis.ping(), 2000).then(
              () => 'ok' as const,
              () => 'failing' as const,
            )
          : ('not_configured' as const);
        const ready = database === 'ok' && redis !== 'failing';
        return reply
          .code(ready ? 200 : 503)
          .send({ status: ready ? 'ok' : 'unavailable', checks: { database, redis } });
      },
    );
  };
}
