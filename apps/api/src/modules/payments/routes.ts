import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { principalOf } from '../../platform/http/auth-guard';
import { CsvFile, sendCsv } from '../../platform/http/csv';
import type { Idempotency } from '../../platform/http/idempotency';
import { IdParams, Page, PageQuery, PeriodQuery, problems } from '../../platform/http/schemas';
import {
  CaptureBody,
  ConfigurableGatewayParams,
  CreateMethodBody,
  CreatePaymentBody,
  CreateRefundBody,
  DeclineRefundBody,
  Dispute,
  DisputeListQuery,
  GatewaySettingsBody,
  GatewaySettingsView,
  ListedPayment,
  ListedRefund,
  PayableGateway,
  Payment,
  PaymentDetail,
  PaymentListQuery,
  PaymentMethod,
  PaymentSummary,
  ReconcileBody,
  ReconciliationItem,
  ReconciliationQuery,
  ReconciliationRun,
  Refund,
  RefundListQuery,
  UpdateMethodBody,
} from './schemas';
import type { DisputesService } from './disputes';
import type { Caller, OperationAttempt, PaymentsService } from './service';

const tags = ['payments'];
const IdempotencyHeader = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ description: 'Replays the first answer for the same request' }),
  ),
});
const WebhookAnswer = Type.Object({ received: Type.Boolean(), duplicate: Type.Boolean() });

const callerOf = (request: FastifyRequest): Caller => {
  const { tenantId, userId } = principalOf(request);
  return { tenantId, userId };
};
const tenantOf = (request: FastifyRequest): string => principalOf(request).tenantId;

export function paymentsRoutes(
  payments: PaymentsService,
  disputes: DisputesService,
  idempotency: Idempotency,
): FastifyPluginAsyncTypebox {
  /** Ties a gateway operation to the request's Idempotency-Key, so that a retry resumes it. */
  const attemptOf = (request: FastifyRequest): OperationAttempt => ({
    began: (tx, transactionId) => idempotency.began(tx, request, transactionId),
    resumes: idempotency.resumed(request),
  });

  return async (app) => {
    // ---- payment methods
    app.post(
      '/commerce/payment-methods',
      {
        // Not money, yet a retry must not store the card twice.
        ...idempotency.hooks,
        config: { permission: 'write:payments' },
        schema: {
          tags,
          summary:
            "Store a payment method (a gateway's token; brand and last4 are read back from the gateway)",
          headers: IdempotencyHeader,
          body: CreateMethodBody,
          response: { 201: PaymentMethod, ...problems(400, 401, 403, 409, 422, 502) },
        },
      },
      async (request, reply) => {
        reply.code(201);
        const method = await payments.createMethod(callerOf(request), request.body, (tx, answer) =>
          idempotency.recordIn(tx, request, reply, answer),
        );
        return reply.send(method);
      },
    );
    app.get(
      '/commerce/payment-methods',
      {
        config: { permission: 'read:payments' },
        schema: {
          tags,
          summary: 'List payment methods',
          querystring: PageQuery,
          response: { 200: Page(PaymentMethod), ...problems(400, 401, 403) },
        },
      },
      async (request) => payments.listMethods(tenantOf(request), request.query),
    );
    app.get(
      '/commerce/payment-methods/:id',
      {
        config: { permission: 'read:payments' },
        schema: {
          tags,
          summary: 'Get a payment method',
          params: IdParams,
          response: { 200: PaymentMethod, ...problems(400, 401, 403, 404) },
        },
      },
      async (request) => payments.getMethod(tenantOf(request), request.params.id),
    );
    app.put(
      '/commerce/payment-methods/:id',
      {
        config: { permission: 'write:payments' },
        schema: {
          tags,
          summary: 'Change the label of a payment method, or make it the default',
          params: IdParams,
          body: UpdateMethodBody,
          response: { 200: PaymentMethod, ...problems(400, 401, 403, 404) },
        },
      },
      async (request) => payments.updateMethod(tenantOf(request), request.params.id, request.body),
    );
    app.delete(
      '/commerce/payment-methods/:id',
      {
        config: { permission: 'write:payments' },
        schema: {
          tags,
          summary: 'Delete a payment method',
          params: IdParams,
          response: { 204: Type.Null(), ...problems(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        await payments.deleteMethod(tenantOf(request), request.params.id);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/commerce/payment-gateways',
      {
        config: { permission: 'read:payments' },
        schema: {
          tags,
          summary:
            'Which gateways can take a payment now (their accounts are set); never their settings or secrets',
          response: { 200: Type.Object({ data: Type.Array(PayableGateway) }), ...problems(401, 403) },
        },
      },
      async (request) => payments.payableGateways(tenantOf(request)),
    );

    // ---- payments
    app.post(
      '/commerce/payments',
      {
        ...idempotency.hooks,
        config: { permission: 'write:payments' },
        schema: {
          tags,
          summary: 'Take a payment for an order: charge (capture true, the default) or authorize only',
          headers: IdempotencyHeader,
          body: CreatePaymentBody,
          response: { 201: Payment, ...problems(400, 401, 403, 404, 409, 422) },
        },
      },
      async (request, reply) => {
        reply.code(201);
        const payment = await payments.createPayment(callerOf(request), request.body, {
          ...attemptOf(request),
          recordAnswer: (tx, answer) => idempotency.recordIn(tx, request, reply, answer),
        });
        return reply.send(payment);
      },
    );
    app.get(
      '/commerce/payments',
      {
        config: { permission: 'read:payments' },
        schema: {
          tags,
          summary: 'List payments, newest first, by order or status',
          querystring: PaymentListQuery,
          response: { 200: Page(ListedPayment), ...problems(400, 401, 403) },
        },
      },
      async (request) => payments.listPayments(tenantOf(request), request.query),
    );
    app.get(
      '/commerce/payments/summary',
      {
        config: { permission: 'read:payments' },
        schema: {
          tags,
          summary:
            "A period's payments per currency: count, gross, refunded, net, by gateway, status and day",
          querystring: PeriodQuery,
          response: { 200: PaymentSummary, ...problems(400, 401, 403) },
        },
      },
      async (request) => payments.summary(tenantOf(request), request.query.from, request.query.to),
    );
    app.get(
      '/commerce/payments/export',
      {
        config: { permission: 'read:payments' },
        schema: {
          tags,
          summary:
            "The payments made in [from, to) as CSV (at most 366 days): times in the tenant's zone, amounts in major units",
          querystring: PeriodQuery,
          response: { 200: CsvFile, ...problems(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const from = new Date(request.query.from);
        const to = new Date(request.query.to);
        return sendCsv(reply, await payments.exportCsv(tenantOf(request), from, to));
      },
    );
    app.post(
      '/commerce/payments/reconcile',
      {
        config: { permission: 'write:payments' },
        schema: {
          tags,
          summary: "Compare a period's gateway records with ours",
          body: ReconcileBody,
          response: { 200: ReconciliationRun, ...problems(400, 401, 403, 409, 502) },
        },
      },
      async (request) => payments.reconcile(callerOf(request), request.body),
    );
    app.get(
      '/commerce/payments/reconciliation',
      {
        config: { permission: 'read:payments' },
        schema: {
          tags,
          summary: 'Reconciliation rows, newest first, by run or result',
          querystring: ReconciliationQuery,
          response: { 200: Page(ReconciliationItem), ...problems(400, 401, 403) },
        },
      },
      async (request) => payments.listReconciliation(tenantOf(request), request.query),
    );
    app.get(
      '/commerce/payments/:id',
      {
        config: { permission: 'read:payments' },
        schema: {
          tags,
          summary: 'Get a payment with the audit log of its gateway calls',
          params: IdParams,
          response: { 200: PaymentDetail, ...problems(400, 401, 403, 404) },
        },
      },
      async (request) => payments.getPayment(tenantOf(request), request.params.id),
    );
    app.post(
      '/commerce/payments/:id/capture',
      {
        ...idempotency.hooks,
        config: { permission: 'write:payments' },
        schema: {
          tags,
          summary: 'Capture an authorized payment, in full or in part',
          headers: IdempotencyHeader,
          params: IdParams,
          // Null too: a bare POST (no body) captures what was authorized, as `{}` does.
          body: Type.Optional(Type.Union([CaptureBody, Type.Null()])),
          response: { 200: Payment, ...problems(400, 401, 402, 403, 404, 409, 422) },
        },
      },
      async (request) =>
        payments.capture(callerOf(request), request.params.id, request.body?.amount, attemptOf(request)),
    );
    app.post(
      '/commerce/payments/:id/void',
      {
        ...idempotency.hooks,
        config: { permission: 'write:payments' },
        schema: {
          tags,
          summary: 'Void a pending or authorized payment',
          headers: IdempotencyHeader,
          params: IdParams,
          response: { 200: Payment, ...problems(400, 401, 402, 403, 404, 409, 422) },
        },
      },
      async (request) => payments.void(callerOf(request), request.params.id, attemptOf(request)),
    );

    // ---- refunds
    app.post(
      '/commerce/refunds',
      {
        ...idempotency.hooks,
        config: { permission: 'write:payments' },
        schema: {
          tags,
          summary: 'Create a refund (pending until processed); refunds never exceed what was captured',
          headers: IdempotencyHeader,
          body: CreateRefundBody,
          response: { 201: Refund, ...problems(400, 401, 403, 404, 409, 422) },
        },
      },
      async (request, reply) => {
        reply.code(201);
        const refund = await payments.createRefund(callerOf(request), request.body, (tx, answer) =>
          idempotency.recordIn(tx, request, reply, answer),
        );
        return reply.send(refund);
      },
    );
    app.get(
      '/commerce/refunds',
      {
        config: { permission: 'read:payments' },
        schema: {
          tags,
          summary: 'List refunds, newest first; filter by payment and by status',
          querystring: RefundListQuery,
          response: { 200: Page(ListedRefund), ...problems(400, 401, 403) },
        },
      },
      async (request) => payments.listRefunds(tenantOf(request), request.query),
    );
    app.post(
      '/commerce/refunds/:id/process',
      {
        ...idempotency.hooks,
        config: { permission: 'write:refunds' },
        schema: {
          tags,
          summary: 'Send a pending refund to the gateway: processed or failed',
          headers: IdempotencyHeader,
          params: IdParams,
          response: { 200: Refund, ...problems(400, 401, 403, 404, 409, 422) },
        },
      },
      async (request) => payments.processRefund(callerOf(request), request.params.id),
    );
    app.post(
      '/commerce/refunds/:id/decline',
      {
        ...idempotency.hooks,
        config: { permission: 'write:refunds' },
        schema: {
          tags,
          summary:
            'Decline a pending refund never sent to the gateway: it fails with failure_code declined, and its amount can be refunded again',
          headers: IdempotencyHeader,
          params: IdParams,
          body: Type.Optional(Type.Union([DeclineRefundBody, Type.Null()])),
          response: { 200: Refund, ...problems(400, 401, 403, 404, 409, 422) },
        },
      },
      async (request, reply) =>
        payments.declineRefund(
          callerOf(request),
          request.params.id,
          request.body?.reason ?? null,
          (tx, answer) => idempotency.recordIn(tx, request, reply, answer),
        ),
    );

    // ---- disputes
    app.get(
      '/commerce/disputes',
      {
        config: { permission: 'read:payments' },
        schema: {
          tags,
          summary:
            "List disputes (chargebacks) the gateways told of, newest first; answered in the gateway's dashboard",
          querystring: DisputeListQuery,
          response: { 200: Page(Dispute), ...problems(400, 401, 403) },
        },
      },
      async (request) => disputes.list(tenantOf(request), request.query),
    );
    app.get(
      '/commerce/disputes/:id',
      {
        config: { permission: 'read:payments' },
        schema: {
          tags,
          summary: 'Get a dispute',
          params: IdParams,
          response: { 200: Dispute, ...problems(400, 401, 403, 404) },
        },
      },
      async (request) => disputes.get(tenantOf(request), request.params.id),
    );

    // ---- gateway accounts
    app.get(
      '/tenants/current/gateways',
      {
        config: { permission: 'manage:tenant' },
        schema: {
          tags,
          summary: 'Which payment gateways are configured (never their secrets)',
          response: { 200: Type.Object({ data: Type.Array(GatewaySettingsView) }), ...problems(401, 403) },
        },
      },
      async (request) => payments.listGatewaySettings(tenantOf(request)),
    );
    app.put(
      '/tenants/current/gateways/:gateway',
      {
        config: { permission: 'manage:tenant' },
        schema: {
          tags,
          summary: "Set the tenant's own gateway account; secrets are sealed at rest and never returned",
          params: ConfigurableGatewayParams,
          body: GatewaySettingsBody,
          response: { 200: GatewaySettingsView, ...problems(400, 401, 403) },
        },
      },
      async (request) => payments.putGatewaySettings(tenantOf(request), request.params.gateway, request.body),
    );
    app.delete(
      '/tenants/current/gateways/:gateway',
      {
        config: { permission: 'manage:tenant' },
        schema: {
          tags,
          summary:
            "Remove the tenant's own gateway account (settings and secrets); the environment's applies where set",
          params: ConfigurableGatewayParams,
          response: { 204: { type: 'null' }, ...problems(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        await payments.deleteGatewaySettings(tenantOf(request), request.params.gateway);
        return reply.code(204).send();
      },
    );

    await app.register(webhookRoutes(payments));
  };
}

/** The gateways' webhooks: public, and parsed as raw text so signatures are checked over the exact bytes. */
function webhookRoutes(payments: PaymentsService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) =>
      done(null, body),
    );
    for (const gateway of ['stripe', 'square', 'paypal'] as const) {
      app.post(
        `/webhooks/${gateway}`,
        {
          config: { public: true },
          schema: {
            tags,
            summary: `${gateway} webhook (signature verified; each event applied once)`,
            security: [],
            response: { 200: WebhookAnswer, ...problems(400, 502) },
          },
        },
        async (request) =>
          payments.handleWebhook(gateway, {
            rawBody: typeof request.body === 'string' ? request.body : '',
            headers: request.headers,
            url: request.url,
          }),
      );
    }
  };
}
