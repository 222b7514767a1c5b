import { Type, type Static } from '@sinclair/typebox';
import { PageQuery, Timestamp, Uuid } from '../../platform/http/schemas';

/** The most units a product may have on hand: far beyond any shelf, well inside a 32-bit integer. */
export const MAX_ON_HAND = 1_000_000_000;

export const StockLevel = Type.Object(
  {
    product_id: Uuid,
    sku: Type.String(),
    on_hand: Type.Integer(),
    reserved: Type.Integer(),
    available: Type.Integer({ description: 'on_hand - reserved, never negative' }),
    low_stock_threshold: Type.Integer(),
    updated_at: Timestamp,
  },
  { $id: 'StockLevel' },
);
export type StockLevel = Static<typeof StockLevel>;

export const MovementKind = Type.Union([
  Type.Literal('adjustment'),
  Type.Literal('set'),
  Type.Literal('reservation'),
  Type.Literal('release'),
  Type.Literal('fulfilment'),
]);
export type MovementKind = Static<typeof MovementKind>;

export const StockMovement = Type.Object(
  {
    id: Uuid,
    product_id: Uuid,
    kind: MovementKind,
    delta: Type.Integer({ description: 'The change of on_hand (same as delta_on_hand)' }),
    delta_on_hand: Type.Integer(),
    delta_reserved: Type.Integer(),
    on_hand_after: Type.Integer(),
    reserved_after: Type.Integer(),
    reason: Type.Union([Type.String(), Type.Null()]),
    order_id: Type.Union([Uuid, Type.Null()]),
    actor: Type.Object({
      type: Type.Union([Type.Literal('user'), Type.Literal('system')]),
      id: Type.Union([Uuid, Type.Null()]),
    }),
    created_at: Timestamp,
  },
  { $id: 'StockMovement' },
);
export type StockMovement = Static<typeof StockMovement>;

export const ProductIdParams = Type.Object({ product_id: Uuid });
export type ProductIdParams = Static<typeof ProductIdParams>;

export const StockListQuery = Type.Composite([
  PageQuery,
  Type.Object({
    low_stock: Type.Optional(
      Type.Boolean({
        description:
          'true: only levels at or below their threshold, of products on sale (not archived); false: only those above it',
      }),
    ),
    product_id: Type.Optional(
      Type.Array(Uuid, {
        minItems: 1,
        maxItems: 200,
        description: 'Only these products (repeat the parameter): the stock beside a page of products',
      }),
    ),
  }),
]);
export type StockListQuery = Static<typeof StockListQuery>;

export const SetStockBody = Type.Object(
  {
    on_hand: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_ON_HAND })),
    low_stock_threshold: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_ON_HAND })),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type SetStockBody = Static<typeof SetStockBody>;

export const AdjustStockBody = Type.Object(
  {
    delta: Type.Integer({ minimum: -MAX_ON_HAND, maximum: MAX_ON_HAND, not: { const: 0 } }),
    reason: Type.String({ minLength: 1, maxLength: 500 }),
  },
  { additionalProperties: false },
);
export type AdjustStockBody = Static<typeof AdjustStockBody>;

export const LedgerQuery = PageQuery;
export type LedgerQuery = Static<typeof LedgerQuery>;
