import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables';
import { tenantReader, withTenant, withTenantRead } from '../../platform/db/tenant';
import { AppError } from '../../platform/errors';
import { principalOf } from '../../platform/http/auth-guard';
import { Page, problems } from '../../platform/http/schemas';
import { rateLimitHeaders, type RateLimiter } from '../../platform/rate-limit';
import {
  Dashboard,
  DashboardQuery,
  EventsQuery,
  ExportQuery,
  Recommendations,
  RecommendationsQuery,
  StoredEvent,
  TrackAccepted,
  TrackBody,
} from './schemas';
import type { AnalyticsService } from './service';

const tags = ['analytics'];

/** A tenant's allowance of tracked events: counted per event, not per request. */
export interface TrackingLimit {
  limiter: RateLimiter;
  perMinute: number;
}

export function analyticsRoutes(
  db: Kysely<DB>,
  analytics: AnalyticsService,
  tracking: TrackingLimit,
): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.addSchema(StoredEvent);

    app.post(
      '/api/analytics/events',
      {
        schema: {
          tags,
          summary: 'Track client events (one, or up to 100 as { events: [...] })',
          body: TrackBody,
          response: { 202: TrackAccepted, ...problems(400, 401, 413) },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const events = 'events' in request.body ? request.body.events : [request.body];
        // The request limits count a batch of 100 as one request; the store and the shared
        // consumer pay per event, so a tenant's events are counted too.
        const limit = await tracking.limiter.consume(`analytics:tenant:${principal.tenantId}`, {
          limit: tracking.perMinute,
          windowMs: 60_000,
          cost: events.length,
        });
        if (!limit.allowed) {
          throw new AppError('rate_limited', 'Too many tracked events for this business; try again later', {
            headers: rateLimitHeaders(limit),
            extensions: { retry_after: Math.max(1, Math.ceil(limit.retryAfterMs / 1000)) },
          });
        }
        const ids = await withTenant(db, principal.tenantId, (tx) => analytics.track(tx, principal, events));
        return reply.code(202).send({ accepted: ids.length, event_ids: ids });
      },
    );

    app.get(
      '/api/analytics/events',
      {
        config: { permission: 'read:analytics' },
        schema: {
          tags,
          summary: 'The historical store of every domain event, newest first',
          querystring: EventsQuery,
          response: { 200: Page(Type.Ref('AnalyticsStoredEvent')), ...problems(400, 401, 403) },
        },
      },
      async (request) =>
        withTenantRead(db, principalOf(request).tenantId, (tx) => analytics.listEvents(tx, request.query)),
    );

    app.get(
      '/api/analytics/export',
      {
        config: { permission: 'read:analytics' },
        schema: {
          tags,
          summary: 'Stream the historical store as NDJSON, oldest first (one warehouse row per line)',
          querystring: ExportQuery,
          produces: ['application/x-ndjson'],
          response: {
            200: Type.Unknown({ description: 'NDJSON: one warehouse row per line' }),
            ...problems(400, 401, 403),
          },
        },
      },
      async (request, reply) => {
        const { tenantId } = principalOf(request);
        const filter = analytics.exportFilter(request.query);
        const lines = Readable.from(analytics.exportLines(db, tenantId, filter), { objectMode: false });
        return reply
          .type('application/x-ndjson')
          .header('content-disposition', 'attachment; filename="events.ndjson"')
          .header('cache-control', 'no-store')
          .send(lines);
      },
    );

    app.get(
      '/api/analytics/dashboard',
      {
        config: { permission: 'read:analytics' },
        schema: {
          tags,
          summary: "Sales figures, series in the tenant's time zone, top products, payment mix, low stock",
          querystring: DashboardQuery,
          response: { 200: Dashboard, ...problems(400, 401, 403) },
        },
      },
      async (request) => analytics.dashboard(tenantReader(db, principalOf(request).tenantId), request.query),
    );

    app.get(
      '/api/analytics/recommendations',
      {
        config: { permission: 'read:products' },
        schema: {
          tags,
          summary: 'Products bought together with a product, or the best sellers',
          querystring: RecommendationsQuery,
          response: { 200: Recommendations, ...problems(400, 401, 403, 404) },
        },
      },
      async (request) =>
        withTenantRead(db, principalOf(request).tenantId, (tx) =>
          analytics.recommendations(tx, request.query.product_id, request.query.limit ?? 10),
        ),
    );
  };
}
