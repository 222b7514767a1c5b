import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables';
import { withTenant, withTenantRead } from '../../platform/db/tenant';
import { principalOf } from '../../platform/http/auth-guard';
import { IdParams, Page, problems } from '../../platform/http/schemas';
import { CreateProductBody, Product, ProductListQuery, UpdateProductBody } from './schemas';
import type { CatalogService } from './service';

const tags = ['catalog'];

export function catalogRoutes(db: Kysely<DB>, catalog: CatalogService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.addSchema(Product);

    app.post(
      '/commerce/products',
      {
        config: { permission: 'write:products' },
        schema: {
          tags,
          summary: 'Create a product (and its empty stock level)',
          body: CreateProductBody,
          response: { 201: Type.Ref('Product'), ...problems(400, 401, 403, 409) },
        },
      },
      async (request, reply) => {
        const { tenantId } = principalOf(request);
        const product = await withTenant(db, tenantId, (tx) => catalog.create(tx, tenantId, request.body));
        return reply.code(201).send(product);
      },
    );

    app.get(
      '/commerce/products',
      {
        config: { permission: 'read:products' },
        schema: {
          tags,
          summary: 'List products by SKU; search by name or SKU, filter by active',
          querystring: ProductListQuery,
          response: { 200: Page(Type.Ref('Product')), ...problems(400, 401, 403) },
        },
      },
      async (request) =>
        withTenantRead(db, principalOf(request).tenantId, (tx) => catalog.list(tx, request.query)),
    );

    app.get(
      '/commerce/products/:id',
      {
        config: { permission: 'read:products' },
        schema: {
          tags,
          summary: 'Get a product',
          params: IdParams,
          response: { 200: Type.Ref('Product'), ...problems(400, 401, 403, 404) },
        },
      },
      async (request) =>
        withTenantRead(db, principalOf(request).tenantId, (tx) => catalog.get(tx, request.params.id)),
    );

    app.patch(
      '/commerce/products/:id',
      {
        config: { permission: 'write:products' },
        schema: {
          tags,
          summary: 'Change a product',
          params: IdParams,
          body: UpdateProductBody,
          response: { 200: Type.Ref('Product'), ...problems(400, 401, 403, 404, 409) },
        },
      },
      async (request) =>
        withTenant(db, principalOf(request).tenantId, (tx) =>
          catalog.update(tx, request.params.id, request.body),
        ),
    );

    app.delete(
      '/commerce/products/:id',
      {
        config: { permission: 'write:products' },
        schema: {
          tags,
          summary: 'Delete a product, or archive it (200, active false) when orders reference it',
          params: IdParams,
          response: {
            200: Type.Ref('Product'),
            204: Type.Null({ description: 'Deleted' }),
            ...problems(400, 401, 403, 404),
          },
        },
      },
      async (request, reply) => {
        const result = await withTenant(db, principalOf(request).tenantId, (tx) =>
          catalog.remove(tx, request.params.id),
        );
        if (result.outcome === 'archived') return reply.code(200).send(result.product);
        return reply.code(204).send(null);
      },
    );
  };
}
