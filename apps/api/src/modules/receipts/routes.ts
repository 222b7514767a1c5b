import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { principalOf } from '../../platform/http/auth-guard';
import { IdParams, problems } from '../../platform/http/schemas';
import { ReceiptSent, SendReceiptBody } from './schemas';
import type { ReceiptsService } from './service';

export function receiptRoutes(receipts: ReceiptsService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/commerce/orders/:id/receipt',
      {
        config: { permission: 'write:orders' },
        schema: {
          tags: ['orders'],
          summary:
            "Mail the order's receipt now: to `email`, or to the order's customer email (409 before it is paid)",
          params: IdParams,
          body: Type.Optional(Type.Union([SendReceiptBody, Type.Null()])),
          response: { 202: ReceiptSent, ...problems(400, 401, 403, 404, 409, 502) },
        },
      },
      async (request, reply) => {
        const sent = await receipts.send(
          principalOf(request).tenantId,
          request.params.id,
          request.body?.email,
        );
        return reply.code(202).send(sent);
      },
    );
  };
}
