import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables';
import { withTenant, withTenantRead } from '../../platform/db/tenant';
import { userActor } from '../../platform/events/outbox';
import { principalOf } from '../../platform/http/auth-guard';
import type { Idempotency } from '../../platform/http/idempotency';
import { Page, problems } from '../../platform/http/schemas';
import {
  AdjustStockBody,
  LedgerQuery,
  ProductIdParams,
  SetStockBody,
  StockLevel,
  StockListQuery,
  StockMovement,
} from './schemas';
import type { InventoryService } from './service';

const tags = ['inventory'];
const IdempotencyHeader = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ description: 'Replays the first answer for the same request' }),
  ),
});

export function inventoryRoutes(
  db: Kysely<DB>,
  inventory: InventoryService,
  idempotency: Idempotency,
): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.addSchema(StockLevel);
    app.addSchema(StockMovement);

    app.get(
      '/commerce/inventory',
      {
        config: { permission: 'read:inventory' },
        schema: {
          tags,
          summary: 'List stock levels by SKU',
          querystring: StockListQuery,
          response: { 200: Page(Type.Ref('StockLevel')), ...problems(400, 401, 403) },
        },
      },
      async (request) =>
        withTenantRead(db, principalOf(request).tenantId, (tx) => inventory.list(tx, request.query)),
    );

    app.get(
      '/commerce/inventory/:product_id',
      {
        config: { permission: 'read:inventory' },
        schema: {
          tags,
          summary: "A product's stock level",
          params: ProductIdParams,
          response: { 200: Type.Ref('StockLevel'), ...problems(400, 401, 403, 404) },
        },
      },
      async (request) =>
        withTenantRead(db, principalOf(request).tenantId, (tx) =>
          inventory.get(tx, request.params.product_id),
        ),
    );

    app.put(
      '/commerce/inventory/:product_id',
      {
        config: { permission: 'write:inventory' },
        schema: {
          tags,
          summary: 'Set on_hand (a count) and/or the low-stock threshold',
          params: ProductIdParams,
          body: SetStockBody,
          response: { 200: Type.Ref('StockLevel'), ...problems(400, 401, 403, 404, 409) },
        },
      },
      async (request) => {
        const { tenantId, userId } = principalOf(request);
        return withTenant(db, tenantId, (tx) =>
          inventory.set(tx, { tenantId, actor: userActor(userId) }, request.params.product_id, request.body),
        );
      },
    );

    app.post(
      '/commerce/inventory/:product_id/adjustments',
      {
        ...idempotency.hooks,
        config: { permission: 'write:inventory' },
        schema: {
          tags,
          summary: 'Adjust on_hand by delta, with a reason (409 insufficient_stock below what is reserved)',
          headers: IdempotencyHeader,
          params: ProductIdParams,
          body: AdjustStockBody,
          response: { 200: Type.Ref('StockLevel'), ...problems(400, 401, 403, 404, 409, 422) },
        },
      },
      async (request, reply) => {
        const { tenantId, userId } = principalOf(request);
        return idempotency.inTransaction(request, reply, (tx) =>
          inventory.adjust(
            tx,
            { tenantId, actor: userActor(userId) },
            request.params.product_id,
            request.body,
          ),
        );
      },
    );

    app.get(
      '/commerce/inventory/:product_id/adjustments',
      {
        config: { permission: 'read:inventory' },
        schema: {
          tags,
          summary: 'The ledger: every change of on_hand or reserved, newest first, with reason and actor',
          params: ProductIdParams,
          querystring: LedgerQuery,
          response: { 200: Page(Type.Ref('StockMovement')), ...problems(400, 401, 403, 404) },
        },
      },
      async (request) =>
        withTenantRead(db, principalOf(request).tenantId, (tx) =>
          inventory.ledger(tx, request.params.product_id, request.query),
        ),
    );
  };
}
