import { sql } from 'kysely';
import type { Executor } from '../../platform/db/tenant';

declare module '../../platform/db/tables' {
  interface DB {
    products: ProductsTable;
  }
}

export interface ProductsTable {
  id: string;
  tenant_id: string;
  sku: string;
  name: string;
  description: string | null;
  price: number;
  currency: string;
  active: boolean;
  created_at: Date | undefined;
  updated_at: Date | undefined;
}

export type ProductRow = Omit<ProductsTable, 'tenant_id' | 'created_at' | 'updated_at'> & {
  created_at: Date;
  updated_at: Date;
};

const COLUMNS = [
  'id',
  'sku',
  'name',
  'description',
  'price',
  'currency',
  'active',
  'created_at',
  'updated_at',
] as const;

export interface ProductFilter {
  q?: string;
  active?: boolean;
  ids?: string[];
  afterSku?: string;
  limit: number;
}

export type ProductChanges = Partial<
  Pick<ProductsTable, 'sku' | 'name' | 'description' | 'price' | 'currency' | 'active'>
>;

/** Escapes LIKE's wildcards so that a search for "50%" finds "50%", not everything. */
const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export const productsRepository = {
  async insert(tx: Executor, row: Omit<ProductsTable, 'created_at' | 'updated_at'>): Promise<ProductRow> {
    return (await tx
      .insertInto('products')
      .values(row)
      .returning(COLUMNS)
      .executeTakeFirstOrThrow()) as ProductRow;
  },

  async findById(tx: Executor, id: string): Promise<ProductRow | undefined> {
    return (await tx.selectFrom('products').select(COLUMNS).where('id', '=', id).executeTakeFirst()) as
      ProductRow | undefined;
  },

  async findByIds(tx: Executor, ids: string[]): Promise<ProductRow[]> {
    if (ids.length === 0) return [];
    return (await tx.selectFrom('products').select(COLUMNS).where('id', 'in', ids).execute()) as ProductRow[];
  },

  /** Ordered by SKU (unique per tenant), so the SKU is the keyset cursor. */
  async list(tx: Executor, filter: ProductFilter): Promise<ProductRow[]> {
    let query = tx.selectFrom('products').select(COLUMNS).orderBy('sku').limit(filter.limit);
    if (filter.q) {
      const pattern = likePattern(filter.q);
      query = query.where((eb) => eb.or([eb('name', 'ilike', pattern), eb('sku', 'ilike', pattern)]));
    }
    if (filter.active !== undefined) query = query.where('active', '=', filter.active);
    if (filter.ids) query = query.where('id', 'in', filter.ids);
    if (filter.afterSku !== undefined) query = query.where('sku', '>', filter.afterSku);
    return (await query.execute()) as ProductRow[];
  },

  async update(tx: Executor, id: string, changes: ProductChanges): Promise<ProductRow | undefined> {
    return (await tx
      .updateTable('products')
      .set({ ...changes, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .returning(COLUMNS)
      .executeTakeFirst()) as ProductRow | undefined;
  },

  /**
   * Deletes the product unless an order line references it (the foreign key refuses); then it
   * only archives it. A savepoint keeps the transaction usable after the refused delete.
   */
  async deleteOrArchive(tx: Executor, id: string): Promise<'deleted' | 'archived' | 'missing'> {
    await sql`savepoint product_delete`.execute(tx);
    try {
      const deleted = await tx.deleteFrom('products').where('id', '=', id).executeTakeFirst();
      await sql`release savepoint product_delete`.execute(tx);
      return deleted.numDeletedRows > 0n ? 'deleted' : 'missing';
    } catch (error) {
      // foreign_key_violation; PostgreSQL 18 reports a RESTRICT key as restrict_violation.
      if (!['23503', '23001'].includes((error as { code?: string }).code ?? '')) throw error;
      await sql`rollback to savepoint product_delete`.execute(tx);
      const archived = await tx
        .updateTable('products')
        .set({ active: false, updated_at: sql<Date>`now()` })
        .where('id', '=', id)
        .executeTakeFirst();
      return archived.numUpdatedRows > 0n ? 'archived' : 'missing';
    }
  },
};
