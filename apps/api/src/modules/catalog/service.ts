import { Type } from '@sinclair/typebox';
import type { Tx } from '../../platform/db/tenant';
import { AppError, notFound } from '../../platform/errors';
import { decodeCursor, encodeCursor } from '../../platform/http/schemas';
import { isCurrency } from '../../platform/money';
import { uuidv7 } from '@tessera/contracts';
import type { InventoryService } from '../inventory';
import { productsRepository, type ProductChanges, type ProductRow } from './repository';
import type { CreateProductBody, Product, ProductListQuery, UpdateProductBody } from './schemas';

/** What other modules (orders, analytics) read about products. */
export interface ProductSummary {
  id: string;
  sku: string;
  name: string;
  active: boolean;
  price: number;
  currency: string;
}

export interface ProductPage {
  data: Product[];
  next_cursor: string | null;
}

export const toProduct = (row: ProductRow): Product => ({
  id: row.id,
  sku: row.sku,
  name: row.name,
  description: row.description,
  price: row.price,
  currency: row.currency,
  active: row.active,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
});

function requireCurrency(code: string): void {
  if (!isCurrency(code)) {
    throw new AppError('validation_failed', `${code} is not an ISO 4217 currency`, {
      errors: [{ path: 'currency', message: 'is not an ISO 4217 currency code' }],
    });
  }
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const pgError = error as { code?: string; constraint?: string };
  return pgError.code === '23505' && pgError.constraint === constraint;
}

export class CatalogService {
  constructor(private readonly inventory: InventoryService) {}

  /** Creates the product and its (empty) stock level in the caller's transaction. */
  async create(tx: Tx, tenantId: string, body: CreateProductBody): Promise<Product> {
    requireCurrency(body.currency);
    const row = await this.withSkuGuard(body.sku, () =>
      productsRepository.insert(tx, {
        id: uuidv7(),
        tenant_id: tenantId,
        sku: body.sku,
        name: body.name,
        description: body.description ?? null,
        price: body.price,
        currency: body.currency,
        active: body.active ?? true,
      }),
    );
    await this.inventory.createStockLevel(tx, tenantId, row.id);
    return toProduct(row);
  }

  async list(tx: Tx, query: ProductListQuery): Promise<ProductPage> {
    const limit = query.limit ?? 50;
    const after = decodeCursor(query.cursor, Type.Object({ sku: Type.String() }));
    const rows = await productsRepository.list(tx, {
      limit: limit + 1,
      ...(query.q ? { q: query.q } : {}),
      ...(query.active === undefined ? {} : { active: query.active }),
      ...(query.id ? { ids: query.id } : {}),
      ...(after ? { afterSku: after.sku } : {}),
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      data: page.map(toProduct),
      next_cursor: rows.length > limit && last ? encodeCursor({ sku: last.sku }) : null,
    };
  }

  async get(tx: Tx, id: string): Promise<Product> {
    const row = await productsRepository.findById(tx, id);
    if (!row) throw notFound('product');
    return toProduct(row);
  }

  async update(tx: Tx, id: string, body: UpdateProductBody): Promise<Product> {
    const current = await productsRepository.findById(tx, id);
    if (!current) throw notFound('product');
    if (body.currency !== undefined && body.currency !== current.currency) {
      requireCurrency(body.currency);
      // Minor units mean something else in another currency (JPY has none, KWD three).
      if (body.price === undefined) {
        throw new AppError('validation_failed', 'Changing the currency needs the price in the new currency', {
          errors: [{ path: 'price', message: 'is required when the currency changes' }],
        });
      }
    }
    const changes: ProductChanges = {};
    if (body.sku !== undefined) changes.sku = body.sku;
    if (body.name !== undefined) changes.name = body.name;
    if (body.description !== undefined) changes.description = body.description;
    if (body.price !== undefined) changes.price = body.price;
    if (body.currency !== undefined) changes.currency = body.currency;
    if (body.active !== undefined) changes.active = body.active;
    const row = await this.withSkuGuard(body.sku ?? current.sku, () =>
      productsRepository.update(tx, id, changes),
    );
    if (!row) throw notFound('product');
    return toProduct(row);
  }

  /**
   * Deletes a product no order mentions; a product that orders reference is archived instead
   * (active = false), so that order history keeps pointing at it.
   */
  async remove(
    tx: Tx,
    id: string,
  ): Promise<{ outcome: 'deleted' } | { outcome: 'archived'; product: Product }> {
    const outcome = await productsRepository.deleteOrArchive(tx, id);
    if (outcome === 'missing') throw notFound('product');
    if (outcome === 'deleted') return { outcome };
    return { outcome, product: await this.get(tx, id) };
  }

  /** Products by id, for orders and analytics; unknown (or another tenant's) ids are absent. */
  async findProductsByIds(tx: Tx, ids: string[]): Promise<ProductSummary[]> {
    const rows = await productsRepository.findByIds(tx, [...new Set(ids)]);
    return rows.map(({ id, sku, name, active, price, currency }) => ({
      id,
      sku,
      name,
      active,
      price,
      currency,
    }));
  }

  private async withSkuGuard<T>(sku: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (isUniqueViolation(error, 'products_sku_unique')) {
        throw new AppError('sku_taken', `The SKU ${sku} is already used by another product`);
      }
      throw error;
    }
  }
}
