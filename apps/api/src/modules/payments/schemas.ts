import { DISPUTE_STATUSES, PAYMENT_STATUSES, REFUND_STATUSES } from '@tessera/contracts';
import { Type, type Static } from '@sinclair/typebox';
import { PageQuery, Timestamp, Uuid } from '../../platform/http/schemas';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);
const MinorUnits = Type.Integer({ minimum: 0, maximum: 1e15, description: 'Integer minor units' });
const PositiveMinorUnits = Type.Integer({ minimum: 1, maximum: 1e15, description: 'Integer minor units' });
const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217, upper case' });

export const GatewayName = Type.Union([
  Type.Literal('stripe'),
  Type.Literal('square'),
  Type.Literal('square_terminal'),
  Type.Literal('paypal'),
  Type.Literal('manual'),
]);
export const PaymentStatusSchema = Type.Union(PAYMENT_STATUSES.map((status) => Type.Literal(status)));
export const MethodType = Type.Union([
  Type.Literal('card'),
  Type.Literal('cash'),
  Type.Literal('check'),
  Type.Literal('paypal'),
]);

export const PaymentMethod = Type.Object({
  id: Uuid,
  gateway: Type.String(),
  type: MethodType,
  brand: Nullable(Type.String()),
  last4: Nullable(Type.String()),
  exp_month: Nullable(Type.Integer()),
  exp_year: Nullable(Type.Integer()),
  label: Nullable(Type.String()),
  is_default: Type.Boolean(),
  created_at: Timestamp,
});
export type PaymentMethod = Static<typeof PaymentMethod>;

export const CreateMethodBody = Type.Object(
  {
    gateway: GatewayName,
    type: MethodType,
    gateway_token: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    label: Type.Optional(Type.String({ maxLength: 100 })),
    is_default: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CreateMethodBody = Static<typeof CreateMethodBody>;

export const UpdateMethodBody = Type.Object(
  {
    label: Type.Optional(Nullable(Type.String({ maxLength: 100 }))),
    is_default: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type UpdateMethodBody = Static<typeof UpdateMethodBody>;

export const NextActionSchema = Nullable(
  Type.Object({ type: Type.String() }, { additionalProperties: true }),
);

export const Payment = Type.Object({
  id: Uuid,
  order_id: Uuid,
  gateway: Type.String(),
  payment_method_id: Nullable(Uuid),
  amount: MinorUnits,
  currency: Currency,
  status: PaymentStatusSchema,
  capture: Type.Boolean(),
  amount_authorized: MinorUnits,
  amount_captured: MinorUnits,
  amount_refunded: MinorUnits,
  gateway_reference: Nullable(Type.String()),
  next_action: NextActionSchema,
  /**
   * A gateway call of this payment not finished: in flight for a moment, or accepted and held by
   * the gateway (a PayPal capture under review) for days. No capture or void can be sent meanwhile.
   */
  pending_operation: Nullable(
    Type.Union([
      Type.Literal('authorize'),
      Type.Literal('charge'),
      Type.Literal('capture'),
      Type.Literal('void'),
      Type.Literal('confirm'),
    ]),
  ),
  failure_code: Nullable(Type.String()),
  failure_message: Nullable(Type.String()),
  change_due: Nullable(MinorUnits),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Payment = Static<typeof Payment>;

export const PaymentTransaction = Type.Object({
  id: Uuid,
  kind: Type.String(),
  amount: MinorUnits,
  currency: Currency,
  gateway_reference: Nullable(Type.String()),
  idempotency_key: Type.String(),
  outcome: Type.String(),
  failure_code: Nullable(Type.String()),
  failure_message: Nullable(Type.String()),
  latency_ms: Nullable(Type.Integer()),
  attempts: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type PaymentTransaction = Static<typeof PaymentTransaction>;

/** The number the business calls an order by (orders' `number`), so that a payment or refund names it. */
const OrderNumber = Type.Integer({ minimum: 1, description: "The order's number" });

/** A payment as its list shows it: with its order's number, so that each row can name the order. */
export const ListedPayment = Type.Composite([Payment, Type.Object({ order_number: OrderNumber })]);
export type ListedPayment = Static<typeof ListedPayment>;

export const PaymentDetail = Type.Intersect([
  ListedPayment,
  Type.Object({ transactions: Type.Array(PaymentTransaction) }),
]);
export type PaymentDetail = Static<typeof PaymentDetail>;

export const CreatePaymentBody = Type.Object(
  {
    order_id: Uuid,
    amount: PositiveMinorUnits,
    currency: Currency,
    gateway: GatewayName,
    payment_method_id: Type.Optional(Uuid),
    capture: Type.Optional(Type.Boolean({ default: true })),
    cash_tendered: Type.Optional(PositiveMinorUnits),
  },
  { additionalProperties: false },
);
export type CreatePaymentBody = Static<typeof CreatePaymentBody>;

export const PaymentListQuery = Type.Intersect([
  PageQuery,
  Type.Object({ order_id: Type.Optional(Uuid), status: Type.Optional(PaymentStatusSchema) }),
]);
export type PaymentListQuery = Static<typeof PaymentListQuery>;

export const CaptureBody = Type.Object(
  { amount: Type.Optional(PositiveMinorUnits) },
  { additionalProperties: false },
);

export const RefundStatusSchema = Type.Union(REFUND_STATUSES.map((status) => Type.Literal(status)));

export const Refund = Type.Object({
  id: Uuid,
  payment_id: Uuid,
  amount: MinorUnits,
  currency: Currency,
  status: RefundStatusSchema,
  reason: Nullable(Type.String()),
  gateway_reference: Nullable(Type.String()),
  failure_code: Nullable(Type.String()),
  /** Why it failed, in words: the gateway's refusal, or the reason given for declining it. */
  failure_message: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
  processed_at: Nullable(Timestamp),
});
export type Refund = Static<typeof Refund>;

/** A refund as its list shows it: with the order its payment was for, so that each row can name it. */
export const ListedRefund = Type.Composite([
  Refund,
  Type.Object({ order_id: Uuid, order_number: OrderNumber }),
]);
export type ListedRefund = Static<typeof ListedRefund>;

export const CreateRefundBody = Type.Object(
  { payment_id: Uuid, amount: PositiveMinorUnits, reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
export type CreateRefundBody = Static<typeof CreateRefundBody>;

export const DeclineRefundBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500, description: 'Why the request was declined' })) },
  { additionalProperties: false },
);
export type DeclineRefundBody = Static<typeof DeclineRefundBody>;

export const RefundListQuery = Type.Intersect([
  PageQuery,
  Type.Object({ payment_id: Type.Optional(Uuid), status: Type.Optional(RefundStatusSchema) }),
]);
export type RefundListQuery = Static<typeof RefundListQuery>;

export const DisputeStatusSchema = Type.Union(DISPUTE_STATUSES.map((status) => Type.Literal(status)));

export const Dispute = Type.Object({
  id: Uuid,
  payment_id: Uuid,
  gateway: Type.String(),
  gateway_reference: Type.String(),
  amount: MinorUnits,
  currency: Currency,
  reason: Nullable(Type.String({ description: "The gateway's reason code" })),
  status: DisputeStatusSchema,
  evidence_due_by: Nullable(Timestamp),
  created_at: Timestamp,
  updated_at: Timestamp,
  closed_at: Nullable(Timestamp),
});
export type Dispute = Static<typeof Dispute>;

export const DisputeListQuery = Type.Intersect([
  PageQuery,
  Type.Object({ payment_id: Type.Optional(Uuid), status: Type.Optional(DisputeStatusSchema) }),
]);
export type DisputeListQuery = Static<typeof DisputeListQuery>;

const Totals = { count: Type.Integer(), gross: MinorUnits, refunded: MinorUnits, net: Type.Integer() };
export const PaymentSummary = Type.Object({
  from: Timestamp,
  to: Timestamp,
  currencies: Type.Array(
    Type.Object({
      currency: Currency,
      ...Totals,
      by_gateway: Type.Array(Type.Object({ gateway: Type.String(), ...Totals })),
      by_status: Type.Array(
        Type.Object({ status: Type.String(), count: Type.Integer(), amount: MinorUnits }),
      ),
      by_day: Type.Array(Type.Object({ day: Type.String({ format: 'date' }), ...Totals })),
    }),
  ),
});
export type PaymentSummary = Static<typeof PaymentSummary>;

export const ReconcileBody = Type.Object(
  {
    gateway: Type.Union([
      Type.Literal('stripe'),
      Type.Literal('square'),
      Type.Literal('square_terminal'),
      Type.Literal('paypal'),
    ]),
    from: Timestamp,
    to: Timestamp,
  },
  { additionalProperties: false },
);
export type ReconcileBody = Static<typeof ReconcileBody>;

export const ReconciliationResultSchema = Type.Union([
  Type.Literal('matched'),
  Type.Literal('missing_local'),
  Type.Literal('missing_gateway'),
  Type.Literal('amount_mismatch'),
  Type.Literal('status_mismatch'),
]);

export const ReconciliationItem = Type.Object({
  id: Uuid,
  run_id: Uuid,
  gateway: Type.String(),
  result: ReconciliationResultSchema,
  payment_id: Nullable(Uuid),
  gateway_reference: Nullable(Type.String()),
  currency: Nullable(Type.String()),
  local_amount: Nullable(Type.Integer()),
  gateway_amount: Nullable(Type.Integer()),
  local_refunded: Nullable(Type.Integer()),
  gateway_refunded: Nullable(Type.Integer()),
  local_status: Nullable(Type.String()),
  gateway_status: Nullable(Type.String()),
  period_from: Timestamp,
  period_to: Timestamp,
  created_at: Timestamp,
});
export type ReconciliationItem = Static<typeof ReconciliationItem>;

export const ReconciliationRun = Type.Object({
  id: Uuid,
  gateway: Type.String(),
  from: Timestamp,
  to: Timestamp,
  counts: Type.Object({
    matched: Type.Integer(),
    missing_local: Type.Integer(),
    missing_gateway: Type.Integer(),
    amount_mismatch: Type.Integer(),
    status_mismatch: Type.Integer(),
  }),
  rows: Type.Array(ReconciliationItem),
});
export type ReconciliationRun = Static<typeof ReconciliationRun>;

export const ReconciliationQuery = Type.Intersect([
  PageQuery,
  Type.Object({ run_id: Type.Optional(Uuid), result: Type.Optional(ReconciliationResultSchema) }),
]);
export type ReconciliationQuery = Static<typeof ReconciliationQuery>;

/** Whether a gateway can take a payment now: its account is set (the tenant's own, or the environment's). */
export const PayableGateway = Type.Object({ gateway: GatewayName, configured: Type.Boolean() });
export type PayableGateway = Static<typeof PayableGateway>;

export const ConfigurableGatewayParams = Type.Object({
  gateway: Type.Union([Type.Literal('stripe'), Type.Literal('square'), Type.Literal('paypal')]),
});

const ApiBase = Type.String({ pattern: '^https?://', maxLength: 500 });
const Secret = Type.String({ minLength: 1, maxLength: 500 });
const Plain = Type.String({ minLength: 1, maxLength: 200 });
/** Credentials per gateway; which fields apply is checked against the gateway in the service. */
export const GatewaySettingsBody = Type.Object(
  {
    api_base: Type.Optional(ApiBase),
    secret_key: Type.Optional(Secret),
    webhook_secret: Type.Optional(Secret),
    access_token: Type.Optional(Secret),
    location_id: Type.Optional(Plain),
    device_id: Type.Optional(Plain),
    webhook_signature_key: Type.Optional(Secret),
    client_id: Type.Optional(Plain),
    client_secret: Type.Optional(Secret),
    webhook_id: Type.Optional(Plain),
  },
  { additionalProperties: false },
);
export type GatewaySettingsBody = Static<typeof GatewaySettingsBody>;

export const GatewaySettingsView = Type.Object({
  gateway: Type.String(),
  configured: Type.Boolean(),
  source: Type.Union([Type.Literal('tenant'), Type.Literal('environment'), Type.Null()]),
  settings: Type.Record(Type.String(), Type.String(), { description: 'Non-secret settings only' }),
  secrets_set: Type.Array(Type.String(), { description: 'Names of the secrets stored (never their values)' }),
  updated_at: Nullable(Timestamp),
});
export type GatewaySettingsView = Static<typeof GatewaySettingsView>;
