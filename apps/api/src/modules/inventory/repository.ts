import { sql, type Generated, type GeneratedAlways } from 'kysely';
import type { EventActor } from '@tessera/contracts';
import type { Executor } from '../../platform/db/tenant';
import type { MovementKind } from './schemas';

declare module '../../platform/db/tables' {
  interface DB {
    stock_levels: StockLevelsTable;
    stock_movements: StockMovementsTable;
  }
}

export interface StockLevelsTable {
  product_id: string;
  tenant_id: string;
  on_hand: Generated<number>;
  reserved: Generated<number>;
  low_stock_threshold: Generated<number>;
  /** on_hand - reserved <= low_stock_threshold, stored: the low-stock index reads it. */
  is_low: GeneratedAlways<boolean>;
  updated_at: Generated<Date>;
}

export interface StockMovementsTable {
  id: string;
  tenant_id: string;
  product_id: string;
  kind: MovementKind;
  delta_on_hand: number;
  delta_reserved: number;
  on_hand_after: number;
  reserved_after: number;
  reason: string | null;
  order_id: string | null;
  actor_type: 'user' | 'system';
  actor_id: string | null;
  created_at: Date | undefined;
}

export interface StockLevelRow {
  product_id: string;
  sku: string;
  /** The product's: an archived one raises no low-stock alert. */
  active: boolean;
  on_hand: number;
  reserved: number;
  low_stock_threshold: number;
  updated_at: Date;
}

export type MovementRow = Omit<StockMovementsTable, 'tenant_id' | 'created_at'> & { created_at: Date };

/** A row moved by a change: its new level and what moved. */
export interface MovedRow extends StockLevelRow {
  delta_on_hand: number;
  delta_reserved: number;
}

export interface LineDelta {
  product_id: string;
  delta_on_hand: number;
  delta_reserved: number;
  movement_id: string;
}

export interface MovementContext {
  tenantId: string;
  actor: EventActor;
  orderId?: string | null;
  reason?: string | null;
}

const LEVEL_COLUMNS = [
  's.product_id',
  'p.sku',
  'p.active',
  's.on_hand',
  's.reserved',
  's.low_stock_threshold',
  's.updated_at',
] as const;

export const inventoryRepository = {
  async insertLevel(tx: Executor, tenantId: string, productId: string): Promise<void> {
    await tx.insertInto('stock_levels').values({ product_id: productId, tenant_id: tenantId }).execute();
  },

  async findLevel(tx: Executor, productId: string): Promise<StockLevelRow | undefined> {
    return await tx
      .selectFrom('stock_levels as s')
      .innerJoin('products as p', 'p.id', 's.product_id')
      .select(LEVEL_COLUMNS)
      .where('s.product_id', '=', productId)
      .executeTakeFirst();
  },

  /**
   * By SKU, the keyset cursor; optionally only the levels at or below their threshold (`lowStock`
   * true, of active products: an archived one is not sold) or only those above it (false), or only
   * those of some products.
   */
  async listLevels(
    tx: Executor,
    filter: { afterSku?: string; lowStock?: boolean; productIds?: string[]; limit: number },
  ): Promise<StockLevelRow[]> {
    let query = tx
      .selectFrom('stock_levels as s')
      .innerJoin('products as p', 'p.id', 's.product_id')
      .select(LEVEL_COLUMNS)
      .orderBy('p.sku')
      .limit(filter.limit);
    if (filter.afterSku !== undefined) query = query.where('p.sku', '>', filter.afterSku);
    if (filter.lowStock === true) query = query.where('s.is_low', '=', true).where('p.active', '=', true);
    if (filter.lowStock === false) query = query.where('s.is_low', '=', false);
    if (filter.productIds) query = query.where('s.product_id', 'in', filter.productIds);
    return await query.execute();
  },

  /** Active products at or below their threshold, the most short first. */
  async listLowStock(tx: Executor, limit: number): Promise<StockLevelRow[]> {
    return await tx
      .selectFrom('stock_levels as s')
      .innerJoin('products as p', 'p.id', 's.product_id')
      .select(LEVEL_COLUMNS)
      .where('p.active', '=', true)
      .where('s.is_low', '=', true)
      .orderBy(sql`s.on_hand - s.reserved - s.low_stock_threshold`)
      .orderBy('p.sku')
      .limit(limit)
      .execute();
  },

  async lockLevel(
    tx: Executor,
    productId: string,
  ): Promise<{ on_hand: number; reserved: number; low_stock_threshold: number } | undefined> {
    return tx
      .selectFrom('stock_levels')
      .select(['on_hand', 'reserved', 'low_stock_threshold'])
      .where('product_id', '=', productId)
      .forUpdate()
      .executeTakeFirst();
  },

  /** Locks the levels of these products, in product order as applyDeltas does (no deadlock between them). */
  async lockLevels(tx: Executor, productIds: string[]): Promise<void> {
    await tx
      .selectFrom('stock_levels')
      .select('product_id')
      .where('product_id', 'in', productIds)
      .orderBy('product_id')
      .forUpdate()
      .execute();
  },

  async updateLevel(
    tx: Executor,
    productId: string,
    values: { on_hand: number; low_stock_threshold: number },
  ): Promise<void> {
    await tx
      .updateTable('stock_levels')
      .set({ ...values, updated_at: sql<Date>`now()` })
      .where('product_id', '=', productId)
      .execute();
  },

  /**
   * Applies on_hand/reserved deltas to several products as one atomic, all-or-nothing statement:
   * the rows are locked in product order (no deadlock between two multi-line orders), each new
   * level is checked (reserved within 0..on_hand), and only if every line passes are they updated
   * and written to the ledger. Returns the moved rows, or none when any line was short.
   */
  async applyDeltas(
    tx: Executor,
    kind: MovementKind,
    lines: LineDelta[],
    context: MovementContext,
  ): Promise<MovedRow[]> {
    const result = await sql<MovedRow>`
      with wanted as (
        select * from unnest(${lines.map((l) => l.product_id)}::uuid[], ${lines.map((l) => l.delta_on_hand)}::int[],
                             ${lines.map((l) => l.delta_reserved)}::int[], ${lines.map((l) => l.movement_id)}::uuid[])
          as w(product_id, d_on_hand, d_reserved, movement_id)
      ),
      locked as (
        select s.product_id,
               s.reserved + w.d_reserved >= 0 and s.on_hand + w.d_on_hand >= s.reserved + w.d_reserved as ok
        from stock_levels s join wanted w on w.product_id = s.product_id
        order by s.product_id
        for update of s
      ),
      gate as (select count(*) = ${lines.length} and coalesce(bool_and(ok), false) as pass from locked),
      moved as (
        update stock_levels s
        set on_hand = s.on_hand + w.d_on_hand, reserved = s.reserved + w.d_reserved, updated_at = now()
        from wanted w, gate
        where s.product_id = w.product_id and gate.pass
        returning s.product_id, s.on_hand, s.reserved, s.low_stock_threshold, s.updated_at,
                  w.d_on_hand, w.d_reserved, w.movement_id
      ),
      ledger as (
        insert into stock_movements (id, tenant_id, product_id, kind, delta_on_hand, delta_reserved,
                                     on_hand_after, reserved_after, reason, order_id, actor_type, actor_id)
        select movement_id, ${context.tenantId}, product_id, ${kind}, d_on_hand, d_reserved, on_hand, reserved,
               ${context.reason ?? null}, ${context.orderId ?? null}, ${context.actor.type}, ${context.actor.id}
        from moved
      )
      select m.product_id, p.sku, p.active, m.on_hand, m.reserved,
             m.low_stock_threshold, m.updated_at, m.d_on_hand as delta_on_hand, m.d_reserved as delta_reserved
      from moved m join products p on p.id = m.product_id`.execute(tx);
    return result.rows;
  },

  async availability(
    tx: Executor,
    productIds: string[],
  ): Promise<{ product_id: string; available: number }[]> {
    return tx
      .selectFrom('stock_levels')
      .select(['product_id', sql<number>`on_hand - reserved`.as('available')])
      .where('product_id', 'in', productIds)
      .execute();
  },

  async insertMovement(tx: Executor, movement: Omit<StockMovementsTable, 'created_at'>): Promise<void> {
    await tx.insertInto('stock_movements').values(movement).execute();
  },

  /** Newest first; the id (UUID v7) is the keyset cursor. */
  async listMovements(
    tx: Executor,
    productId: string,
    page: { beforeId?: string; limit: number },
  ): Promise<MovementRow[]> {
    let query = tx
      .selectFrom('stock_movements')
      .select([
        'id',
        'product_id',
        'kind',
        'delta_on_hand',
        'delta_reserved',
        'on_hand_after',
        'reserved_after',
        'reason',
        'order_id',
        'actor_type',
        'actor_id',
        'created_at',
      ])
      .where('product_id', '=', productId)
      .orderBy('id', 'desc')
      .limit(page.limit);
    if (page.beforeId) query = query.where('id', '<', page.beforeId);
    return (await query.execute()) as MovementRow[];
  },
};
