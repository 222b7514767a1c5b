import { EVENT_TYPES } from '@tessera/contracts';
import { Type, type Static } from '@sinclair/typebox';
import { PageQuery, Timestamp, Uuid } from '../../platform/http/schemas';
import { MAX_TRACK_BATCH } from './service';

const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217, upper case' });
const Money = Type.Integer({ description: 'minor units' });

export const TrackEvent = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.:-]+$' }),
    properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    occurred_at: Type.Optional(Timestamp),
    anonymous_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const TrackBody = Type.Union([
  TrackEvent,
  Type.Object(
    { events: Type.Array(TrackEvent, { minItems: 1, maxItems: MAX_TRACK_BATCH }) },
    { additionalProperties: false },
  ),
]);
export type TrackBody = Static<typeof TrackBody>;

export const TrackAccepted = Type.Object({ accepted: Type.Integer(), event_ids: Type.Array(Uuid) });

const EventTypeName = Type.Union(
  EVENT_TYPES.map((type) => Type.Literal(type)),
  { description: 'a domain event type' },
);

export const EventsQuery = Type.Composite([
  PageQuery,
  Type.Object({
    type: Type.Optional(EventTypeName),
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
  }),
]);
export type EventsQuery = Static<typeof EventsQuery>;

export const ExportQuery = Type.Object({
  type: Type.Optional(EventTypeName),
  from: Type.Optional(Timestamp),
  to: Type.Optional(Timestamp),
});
export type ExportQuery = Static<typeof ExportQuery>;

export const StoredEvent = Type.Object(
  {
    id: Uuid,
    type: Type.String(),
    stream: Type.String(),
    occurred_at: Timestamp,
    version: Type.Integer(),
    actor: Type.Object({
      type: Type.Union([Type.Literal('user'), Type.Literal('system')]),
      id: Type.Union([Uuid, Type.Null()]),
    }),
    data: Type.Unknown(),
    stored_at: Timestamp,
  },
  { $id: 'AnalyticsStoredEvent' },
);

export const DashboardQuery = Type.Object({
  from: Type.Optional(Timestamp),
  to: Type.Optional(Timestamp),
  interval: Type.Optional(Type.Union([Type.Literal('hour'), Type.Literal('day')], { default: 'day' })),
  currency: Type.Optional(Currency),
});
export type DashboardQuery = Static<typeof DashboardQuery>;

const StockLevel = Type.Object({
  product_id: Uuid,
  sku: Type.String(),
  on_hand: Type.Integer(),
  reserved: Type.Integer(),
  available: Type.Integer(),
  low_stock_threshold: Type.Integer(),
  updated_at: Timestamp,
});

export const Dashboard = Type.Object({
  currency: Type.Union([Currency, Type.Null()]),
  time_zone: Type.String(),
  interval: Type.Union([Type.Literal('hour'), Type.Literal('day')]),
  from: Timestamp,
  to: Timestamp,
  currencies: Type.Array(Currency, {
    description:
      'The currencies with orders placed (not cancelled), money captured or refunded in the range, alphabetical; `currency=` picks one',
  }),
  revenue: Money,
  orders: Type.Integer(),
  average_order_value: Money,
  items_sold: Type.Integer(),
  refunded: Money,
  series: Type.Array(Type.Object({ bucket: Timestamp, revenue: Money, orders: Type.Integer() })),
  top_products: Type.Array(
    Type.Object({
      product_id: Uuid,
      name: Type.Union([Type.String(), Type.Null()]),
      quantity: Type.Integer(),
      revenue: Money,
    }),
  ),
  payment_mix: Type.Array(Type.Object({ gateway: Type.String(), count: Type.Integer(), amount: Money })),
  low_stock: Type.Array(StockLevel),
});

/** How many recommendations a request may ask for, and gets when it does not say. */
export const RECOMMENDATIONS_LIMIT = { default: 10, maximum: 50 } as const;

export const RecommendationsQuery = Type.Object({
  product_id: Type.Optional(Uuid),
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: RECOMMENDATIONS_LIMIT.maximum,
      default: RECOMMENDATIONS_LIMIT.default,
    }),
  ),
});
export type RecommendationsQuery = Static<typeof RecommendationsQuery>;

export const Recommendations = Type.Object({
  strategy: Type.Union([Type.Literal('frequently_bought_together'), Type.Literal('popular')]),
  items: Type.Array(
    Type.Object({
      product_id: Uuid,
      sku: Type.Union([Type.String(), Type.Null()]),
      name: Type.Union([Type.String(), Type.Null()]),
      score: Type.Number(),
    }),
  ),
});
