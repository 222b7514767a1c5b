import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables';
import { withTenantRead } from '../../platform/db/tenant';
import { userActor } from '../../platform/events/outbox';
import { principalOf } from '../../platform/http/auth-guard';
import { CsvFile, sendCsv } from '../../platform/http/csv';
import type { Idempotency } from '../../platform/http/idempotency';
import { IdParams, Page, PeriodQuery, problems } from '../../platform/http/schemas';
import { CreateOrderBody, Order, OrderListQuery, StatusChange } from './schemas';
import type { OrdersService } from './service';

const tags = ['orders'];
const IdempotencyHeader = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ description: 'Replays the first answer for the same request' }),
  ),
});

export function ordersRoutes(
  db: Kysely<DB>,
  orders: OrdersService,
  idempotency: Idempotency,
): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.addSchema(Order);
    app.addSchema(StatusChange);

    app.post(
      '/commerce/orders',
      {
        ...idempotency.hooks,
        config: { permission: 'write:orders' },
        schema: {
          tags,
          summary: 'Place an order, reserving the stock of every line (all or nothing)',
          headers: IdempotencyHeader,
          body: CreateOrderBody,
          response: { 201: Type.Ref('Order'), ...problems(400, 401, 403, 409, 422) },
        },
      },
      async (request, reply) => {
        const { tenantId, userId } = principalOf(request);
        reply.code(201);
        return reply.send(
          await idempotency.inTransaction(request, reply, (tx) =>
            orders.create(tx, { tenantId, actor: userActor(userId) }, request.body),
          ),
        );
      },
    );

    app.get(
      '/commerce/orders',
      {
        config: { permission: 'read:orders' },
        schema: {
          tags,
          summary: 'List orders, newest first, optionally by status',
          querystring: OrderListQuery,
          response: { 200: Page(Type.Ref('Order')), ...problems(400, 401, 403) },
        },
      },
      async (request) =>
        withTenantRead(db, principalOf(request).tenantId, (tx) => orders.list(tx, request.query)),
    );

    app.get(
      '/commerce/orders/export',
      {
        config: { permission: 'read:orders' },
        schema: {
          tags,
          summary:
            "The orders placed in [from, to) as CSV (at most 366 days): one per line, times in the tenant's zone, amounts in major units",
          querystring: PeriodQuery,
          response: { 200: CsvFile, ...problems(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const { tenantId } = principalOf(request);
        const from = new Date(request.query.from);
        const to = new Date(request.query.to);
        return sendCsv(reply, await orders.exportCsv((work) => withTenantRead(db, tenantId, work), from, to));
      },
    );

    app.get(
      '/commerce/orders/:id',
      {
        config: { permission: 'read:orders' },
        schema: {
          tags,
          summary: 'Get an order',
          params: IdParams,
          response: { 200: Type.Ref('Order'), ...problems(400, 401, 403, 404) },
        },
      },
      async (request) =>
        withTenantRead(db, principalOf(request).tenantId, (tx) => orders.get(tx, request.params.id)),
    );

    app.get(
      '/commerce/orders/:id/history',
      {
        config: { permission: 'read:orders' },
        schema: {
          tags,
          summary: 'Every status change of an order, oldest first, with time and actor',
          params: IdParams,
          response: {
            200: Type.Object({ data: Type.Array(Type.Ref('OrderStatusChange')) }),
            ...problems(400, 401, 403, 404),
          },
        },
      },
      async (request) => ({
        data: await withTenantRead(db, principalOf(request).tenantId, (tx) =>
          orders.history(tx, request.params.id),
        ),
      }),
    );

    app.post(
      '/commerce/orders/:id/cancel',
      {
        ...idempotency.hooks,
        config: { permission: 'write:orders' },
        schema: {
          tags,
          summary: 'Cancel a pending order and release its stock (409 once money was captured)',
          headers: IdempotencyHeader,
          params: IdParams,
          body: Type.Optional(
            Type.Union([
              Type.Object(
                { reason: Type.Optional(Type.String({ maxLength: 500 })) },
                { additionalProperties: false },
              ),
              Type.Null(),
            ]),
          ),
          response: { 200: Type.Ref('Order'), ...problems(400, 401, 403, 404, 409, 422) },
        },
      },
      async (request, reply) => {
        const { tenantId, userId } = principalOf(request);
        return idempotency.inTransaction(request, reply, (tx) =>
          orders.cancel(
            tx,
            { tenantId, actor: userActor(userId) },
            request.params.id,
            request.body?.reason ?? null,
          ),
        );
      },
    );

    app.post(
      '/commerce/orders/:id/fulfill',
      {
        ...idempotency.hooks,
        config: { permission: 'write:orders' },
        schema: {
          tags,
          summary: 'Fulfil a paid order: its reserved stock leaves on_hand',
          headers: IdempotencyHeader,
          params: IdParams,
          response: { 200: Type.Ref('Order'), ...problems(400, 401, 403, 404, 409, 422) },
        },
      },
      async (request, reply) => {
        const { tenantId, userId } = principalOf(request);
        return idempotency.inTransaction(request, reply, (tx) =>
          orders.fulfil(tx, { tenantId, actor: userActor(userId) }, request.params.id),
        );
      },
    );
  };
}
