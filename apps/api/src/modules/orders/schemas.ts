import { MAX_LINE_QUANTITY, MAX_ORDER_LINES, ORDER_STATUSES } from '@tessera/contracts';
import { Type, type Static } from '@sinclair/typebox';
import { PageQuery, Timestamp, Uuid } from '../../platform/http/schemas';

export const OrderStatus = Type.Union(ORDER_STATUSES.map((status) => Type.Literal(status)));

export const PaymentStatus = Type.Union([
  Type.Literal('unpaid'),
  Type.Literal('authorized'),
  Type.Literal('partially_paid'),
  Type.Literal('paid'),
  Type.Literal('partially_refunded'),
  Type.Literal('refunded'),
]);

export const OrderLine = Type.Object({
  product_id: Uuid,
  sku: Type.String(),
  name: Type.String(),
  quantity: Type.Integer(),
  unit_price: Type.Integer(),
  line_total: Type.Integer(),
});

export const Order = Type.Object(
  {
    id: Uuid,
    number: Type.Integer({
      description: 'Per tenant, from 1, increasing; a checkout that fails after numbering leaves a gap',
    }),
    status: OrderStatus,
    payment_status: PaymentStatus,
    currency: Type.String(),
    lines: Type.Array(OrderLine),
    subtotal: Type.Integer(),
    total: Type.Integer(),
    amount_paid: Type.Integer(),
    amount_refunded: Type.Integer(),
    customer_email: Type.Union([Type.String(), Type.Null()]),
    note: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Order' },
);
export type Order = Static<typeof Order>;

export const StatusChange = Type.Object(
  {
    id: Uuid,
    from: Type.Union([OrderStatus, Type.Null()]),
    to: OrderStatus,
    actor: Type.Object({
      type: Type.Union([Type.Literal('user'), Type.Literal('system')]),
      id: Type.Union([Uuid, Type.Null()]),
    }),
    reason: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
  },
  { $id: 'OrderStatusChange' },
);
export type StatusChange = Static<typeof StatusChange>;

export const CreateOrderBody = Type.Object(
  {
    lines: Type.Array(
      Type.Object(
        { product_id: Uuid, quantity: Type.Integer({ minimum: 1, maximum: MAX_LINE_QUANTITY }) },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_ORDER_LINES },
    ),
    customer_email: Type.Optional(
      Type.Union([Type.Null(), Type.String({ format: 'email', maxLength: 320 })]),
    ),
    note: Type.Optional(Type.Union([Type.Null(), Type.String({ maxLength: 2000 })])),
  },
  { additionalProperties: false },
);
export type CreateOrderBody = Static<typeof CreateOrderBody>;

export const OrderListQuery = Type.Composite([
  PageQuery,
  Type.Object({ status: Type.Optional(OrderStatus) }),
]);
export type OrderListQuery = Static<typeof OrderListQuery>;
