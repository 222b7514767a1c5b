import { Type } from '@sinclair/typebox';
import { uuidv7, type EventActor } from '@tessera/contracts';
import type { Tx } from '../../platform/db/tenant';
import { AppError, notFound } from '../../platform/errors';
import { addEvents, type NewEvent } from '../../platform/events/outbox';
import { decodeCursor, encodeCursor, Uuid } from '../../platform/http/schemas';
import { inventoryRepository, type MovedRow, type MovementRow, type StockLevelRow } from './repository';
import {
  MAX_ON_HAND,
  type AdjustStockBody,
  type LedgerQuery,
  type MovementKind,
  type SetStockBody,
  type StockLevel,
  type StockListQuery,
  type StockMovement,
} from './schemas';

/** Counts in messages as a person reads them: "1,500", "1 unit", "1,500 units". */
function figure(count: number): string {
  return count.toLocaleString('en');
}

function units(count: number): string {
  return `${figure(count)} ${count === 1 ? 'unit' : 'units'}`;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** Who moves stock, for the ledger and the events. */
export interface StockActor {
  tenantId: string;
  actor: EventActor;
}

export interface StockLine {
  product_id: string;
  quantity: number;
}

export const toStockLevel = (row: StockLevelRow): StockLevel => ({
  product_id: row.product_id,
  sku: row.sku,
  on_hand: row.on_hand,
  reserved: row.reserved,
  available: row.on_hand - row.reserved,
  low_stock_threshold: row.low_stock_threshold,
  updated_at: row.updated_at.toISOString(),
});

const toMovement = (row: MovementRow): StockMovement => ({
  id: row.id,
  product_id: row.product_id,
  kind: row.kind,
  delta: row.delta_on_hand,
  delta_on_hand: row.delta_on_hand,
  delta_reserved: row.delta_reserved,
  on_hand_after: row.on_hand_after,
  reserved_after: row.reserved_after,
  reason: row.reason,
  order_id: row.order_id,
  actor: { type: row.actor_type, id: row.actor_id },
  created_at: row.created_at.toISOString(),
});

function stockEvent(
  who: StockActor,
  kind: MovementKind,
  row: StockLevelRow,
  delta: { on_hand: number; reserved: number },
): NewEvent {
  const available = row.on_hand - row.reserved;
  return {
    type: 'inventory.stock.updated',
    tenantId: who.tenantId,
    actor: who.actor,
    data: {
      product_id: row.product_id,
      sku: row.sku,
      on_hand: row.on_hand,
      reserved: row.reserved,
      available,
      low_stock_threshold: row.low_stock_threshold,
      reason: kind,
      delta_on_hand: delta.on_hand,
      delta_reserved: delta.reserved,
      // What low-stock notices key on: an archived product is not sold, so it raises none.
      low_stock: row.active && available <= row.low_stock_threshold,
    },
  };
}

/** Stock levels, their ledger, and the reservations orders make. Every change is in the ledger and raises inventory.stock.updated. */
export class InventoryService {
  async createStockLevel(tx: Tx, tenantId: string, productId: string): Promise<void> {
    await inventoryRepository.insertLevel(tx, tenantId, productId);
  }

  async list(tx: Tx, query: StockListQuery): Promise<Page<StockLevel>> {
    const limit = query.limit ?? 50;
    const after = decodeCursor(query.cursor, Type.Object({ sku: Type.String() }));
    const rows = await inventoryRepository.listLevels(tx, {
      limit: limit + 1,
      ...(after ? { afterSku: after.sku } : {}),
      ...(query.low_stock === undefined ? {} : { lowStock: query.low_stock }),
      ...(query.product_id ? { productIds: query.product_id } : {}),
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      data: page.map(toStockLevel),
      next_cursor: rows.length > limit && last ? encodeCursor({ sku: last.sku }) : null,
    };
  }

  async get(tx: Tx, productId: string): Promise<StockLevel> {
    const row = await inventoryRepository.findLevel(tx, productId);
    if (!row) throw notFound('product');
    return toStockLevel(row);
  }

  /** Levels at or below their threshold (active products only), the most short first: for dashboards. */
  async listLowStock(tx: Tx, limit: number): Promise<StockLevel[]> {
    return (await inventoryRepository.listLowStock(tx, limit)).map(toStockLevel);
  }

  /** Sets on_hand (a stock count) and/or the threshold; on_hand may not go below what is reserved. */
  async set(tx: Tx, who: StockActor, productId: string, body: SetStockBody): Promise<StockLevel> {
    const current = await inventoryRepository.lockLevel(tx, productId);
    if (!current) throw notFound('product');
    const onHand = body.on_hand ?? current.on_hand;
    if (onHand < current.reserved) {
      throw new AppError(
        'insufficient_stock',
        `The stock on hand cannot be set below ${figure(current.reserved)}: ${units(current.reserved)} ${current.reserved === 1 ? 'is' : 'are'} reserved by orders`,
        {
          extensions: { reserved: current.reserved },
        },
      );
    }
    await inventoryRepository.updateLevel(tx, productId, {
      on_hand: onHand,
      low_stock_threshold: body.low_stock_threshold ?? current.low_stock_threshold,
    });
    const row = (await inventoryRepository.findLevel(tx, productId))!;
    const delta = onHand - current.on_hand;
    if (delta !== 0) {
      await inventoryRepository.insertMovement(tx, {
        id: uuidv7(),
        tenant_id: who.tenantId,
        product_id: productId,
        kind: 'set',
        delta_on_hand: delta,
        delta_reserved: 0,
        on_hand_after: row.on_hand,
        reserved_after: row.reserved,
        reason: body.reason ?? null,
        order_id: null,
        actor_type: who.actor.type,
        actor_id: who.actor.id,
      });
    }
    if (delta !== 0 || row.low_stock_threshold !== current.low_stock_threshold) {
      addEvents(tx, [stockEvent(who, 'set', row, { on_hand: delta, reserved: 0 })]);
    }
    return toStockLevel(row);
  }

  /** Adds delta to on_hand (a delivery, shrinkage, a count correction), atomically checked against reserved stock. */
  async adjust(tx: Tx, who: StockActor, productId: string, body: AdjustStockBody): Promise<StockLevel> {
    const current = await inventoryRepository.lockLevel(tx, productId);
    if (!current) throw notFound('product');
    const onHand = current.on_hand + body.delta;
    if (onHand < current.reserved) {
      const removable = Math.max(0, current.on_hand - current.reserved);
      throw new AppError(
        'insufficient_stock',
        `${removable === 0 ? 'No units' : `Only ${units(removable)}`} can be removed: ${figure(current.on_hand)} on hand` +
          (current.reserved > 0 ? `, ${figure(current.reserved)} of them reserved by orders` : ''),
        { extensions: { on_hand: current.on_hand, reserved: current.reserved } },
      );
    }
    if (onHand > MAX_ON_HAND) {
      // The field's message is shown alone beside the field, so it is the whole sentence too.
      const message = `At most ${units(MAX_ON_HAND - current.on_hand)} can be added: ${figure(current.on_hand)} on hand, and a product holds at most ${units(MAX_ON_HAND)}`;
      throw new AppError('validation_failed', message, { errors: [{ path: 'delta', message }] });
    }
    const [row] = await inventoryRepository.applyDeltas(
      tx,
      'adjustment',
      [{ product_id: productId, delta_on_hand: body.delta, delta_reserved: 0, movement_id: uuidv7() }],
      { ...who, reason: body.reason },
    );
    addEvents(tx, [stockEvent(who, 'adjustment', row!, { on_hand: body.delta, reserved: 0 })]);
    return toStockLevel(row!);
  }

  async ledger(tx: Tx, productId: string, query: LedgerQuery): Promise<Page<StockMovement>> {
    if (!(await inventoryRepository.findLevel(tx, productId))) throw notFound('product');
    const limit = query.limit ?? 50;
    const before = decodeCursor(query.cursor, Type.Object({ id: Uuid }));
    const rows = await inventoryRepository.listMovements(tx, productId, {
      limit: limit + 1,
      ...(before ? { beforeId: before.id } : {}),
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      data: page.map(toMovement),
      next_cursor: rows.length > limit && last ? encodeCursor({ id: last.id }) : null,
    };
  }

  /**
   * Reserves every line, all or nothing, in the caller's transaction: one conditional update, so
   * concurrent orders can never reserve more than is available. Throws 409 insufficient_stock
   * (naming the short lines) and reserves nothing when any line is short.
   */
  async reserve(tx: Tx, who: StockActor, orderId: string, lines: StockLine[]): Promise<StockLevel[]> {
    const moved = await this.move(tx, who, orderId, 'reservation', lines, (q) => ({
      on_hand: 0,
      reserved: q,
    }));
    if (moved) return moved;
    const available = new Map(
      (
        await inventoryRepository.availability(
          tx,
          lines.map((line) => line.product_id),
        )
      ).map((row) => [row.product_id, row.available]),
    );
    const short = lines
      .map((line) => ({
        product_id: line.product_id,
        requested: line.quantity,
        available: available.get(line.product_id) ?? 0,
      }))
      .filter((line) => line.available < line.requested);
    throw new AppError(
      'insufficient_stock',
      `Not enough stock for ${short.length === 1 ? 'one line' : `${short.length} lines`}; nothing was reserved`,
      {
        extensions: { lines: short },
      },
    );
  }

  /** Gives reserved units back to available (an order was cancelled or refunded before shipping). */
  async release(tx: Tx, who: StockActor, orderId: string, lines: StockLine[]): Promise<StockLevel[]> {
    const moved = await this.move(tx, who, orderId, 'release', lines, (q) => ({ on_hand: 0, reserved: -q }));
    if (!moved) throw new Error(`order ${orderId}: its reservations are missing from stock`);
    return moved;
  }

  /** Reserved units leave the warehouse: on_hand and reserved both drop. */
  async fulfil(tx: Tx, who: StockActor, orderId: string, lines: StockLine[]): Promise<StockLevel[]> {
    const moved = await this.move(tx, who, orderId, 'fulfilment', lines, (q) => ({
      on_hand: -q,
      reserved: -q,
    }));
    if (!moved) throw new Error(`order ${orderId}: its reservations are missing from stock`);
    return moved;
  }

  private async move(
    tx: Tx,
    who: StockActor,
    orderId: string,
    kind: MovementKind,
    lines: StockLine[],
    delta: (quantity: number) => { on_hand: number; reserved: number },
  ): Promise<StockLevel[] | null> {
    if (lines.length === 0) return [];
    // Ledger ids are made once the rows are locked, so that they sort in the order the movements
    // were applied: an id made before waiting for a lock could be older than the movement that held it.
    await inventoryRepository.lockLevels(
      tx,
      lines.map((line) => line.product_id),
    );
    const rows: MovedRow[] = await inventoryRepository.applyDeltas(
      tx,
      kind,
      lines.map((line) => {
        const change = delta(line.quantity);
        return {
          product_id: line.product_id,
          delta_on_hand: change.on_hand,
          delta_reserved: change.reserved,
          movement_id: uuidv7(),
        };
      }),
      { ...who, orderId },
    );
    if (rows.length !== lines.length) return null;
    addEvents(
      tx,
      rows.map((row) =>
        stockEvent(who, kind, row, { on_hand: row.delta_on_hand, reserved: row.delta_reserved }),
      ),
    );
    return rows.map(toStockLevel);
  }
}
