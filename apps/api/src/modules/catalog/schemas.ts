import { Type, type Static } from '@sinclair/typebox';
import { MAX_MINOR_UNITS, PRODUCT_TEXT_LIMITS } from '@tessera/contracts';
import { PageQuery, Timestamp, Uuid } from '../../platform/http/schemas';

/** No leading or trailing blanks; SKUs are matched exactly. */
const Sku = Type.String({
  minLength: 1,
  maxLength: PRODUCT_TEXT_LIMITS.sku,
  pattern: '^\\S(.*\\S)?$',
  description: 'Unique per tenant',
});
const Name = Type.String({ minLength: 1, maxLength: PRODUCT_TEXT_LIMITS.name });
const Description = Type.Union([Type.Null(), Type.String({ maxLength: PRODUCT_TEXT_LIMITS.description })]);
const Price = Type.Integer({
  minimum: 0,
  maximum: MAX_MINOR_UNITS,
  description: 'Integer minor units of currency',
});
const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, upper case' });

export const Product = Type.Object(
  {
    id: Uuid,
    sku: Type.String(),
    name: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    price: Type.Integer(),
    currency: Type.String(),
    active: Type.Boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Product' },
);
export type Product = Static<typeof Product>;

export const CreateProductBody = Type.Object(
  {
    sku: Sku,
    name: Name,
    description: Type.Optional(Description),
    price: Price,
    currency: Currency,
    active: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false },
);
export type CreateProductBody = Static<typeof CreateProductBody>;

export const UpdateProductBody = Type.Object(
  {
    sku: Type.Optional(Sku),
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    price: Type.Optional(Price),
    currency: Type.Optional(Currency),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateProductBody = Static<typeof UpdateProductBody>;

export const ProductListQuery = Type.Composite([
  PageQuery,
  Type.Object({
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Part of the name or SKU' })),
    active: Type.Optional(Type.Boolean()),
    id: Type.Optional(
      Type.Array(Uuid, {
        minItems: 1,
        maxItems: 200,
        description: 'Only these products (repeat the parameter): the names beside a page of stock levels',
      }),
    ),
  }),
]);
export type ProductListQuery = Static<typeof ProductListQuery>;
