import type { Insertable } from 'kysely';
import type { Tx } from '../../platform/db/tenant';
import {
  analyticsRepository as repo,
  utcDay,
  type PairBump,
  type ProductBump,
  type ProductSnapshot,
  type RollupBump,
  type RollupName,
  type SalesBump,
  type SalesIncrement,
  type StockTable,
  type StoredOrderLine,
} from './repository';

const SALES_FIELDS = ['orders', 'order_value', 'items_sold', 'revenue', 'refunded'] as const;

/** A UTC day's month, as the month rollups key it. */
const monthOf = (day: string) => `${day.slice(0, 7)}-01`;

const at = (time: Date | string) => (typeof time === 'string' ? time : time.toISOString());

/**
 * What a batch of events does to the rollups that only add up (sales, orders per currency, product
 * and gateway rollups, pairs bought together) and to the snapshots where the latest wins (stock,
 * product names), gathered in memory and written at the end in one statement per table instead of
 * one per event, rows in key order. (Two workers do not interleave one tenant's batches: see the
 * repository's lockTenantMetrics.)
 */
export class PendingMetrics {
  private readonly sales = new Map<string, SalesBump>();
  private readonly currencies = new Map<string, number>();
  private readonly products = new Map<string, ProductBump>();
  private readonly rollups = new Map<RollupName, Map<string, RollupBump>>();
  private readonly pairs = new Map<string, PairBump>();
  private readonly stock = new Map<string, Insertable<StockTable>>();

  addSales(currency: string, bucket: Date, by: SalesIncrement): void {
    const key = `${currency}|${bucket.toISOString()}`;
    const row = this.sales.get(key) ?? { currency, bucket };
    for (const field of SALES_FIELDS) row[field] = (row[field] ?? 0) + (by[field] ?? 0);
    this.sales.set(key, row);
  }

  countOrder(currency: string): void {
    this.currencies.set(currency, (this.currencies.get(currency) ?? 0) + 1);
  }

  /** A later snapshot's known fields replace an earlier one's; its nulls keep them. */
  rememberProducts(products: ProductSnapshot[]): void {
    for (const product of products) {
      const known = this.product(product.product_id);
      known.sku = product.sku ?? known.sku;
      known.name = product.name ?? known.name;
    }
  }

  /** A paid order, its lines one per product: units sold, product rollups, popularity and pairs. */
  addPaidOrder(currency: string, bucket: Date, lines: StoredOrderLine[]): void {
    this.addSales(currency, bucket, { items_sold: lines.reduce((sum, line) => sum + line.quantity, 0) });
    const day = utcDay(bucket);
    for (const line of lines) {
      const sold: [number, number] = [line.quantity, line.line_total];
      this.addToRollup('analytics_product_buckets', currency, bucket, line.product_id, sold);
      this.addToRollup('analytics_product_days', currency, day, line.product_id, sold);
      this.addToRollup('analytics_product_months', currency, monthOf(day), line.product_id, sold);
      const product = this.product(line.product_id);
      product.paid_orders += 1;
      product.quantity += line.quantity;
      for (const other of lines) {
        if (other.product_id === line.product_id) continue;
        const key = `${line.product_id}|${other.product_id}`;
        const pair = this.pairs.get(key) ?? {
          product_id: line.product_id,
          other_id: other.product_id,
          orders: 0,
        };
        pair.orders += 1;
        this.pairs.set(key, pair);
      }
    }
  }

  /** Captured growth of a payment, in the payment mix by bucket and by UTC day. */
  addGatewayPayment(
    currency: string,
    bucket: Date,
    gateway: string,
    by: { payments: number; amount: number },
  ): void {
    const captured: [number, number] = [by.payments, by.amount];
    this.addToRollup('analytics_gateway_buckets', currency, bucket, gateway, captured);
    this.addToRollup('analytics_gateway_days', currency, utcDay(bucket), gateway, captured);
  }

  /** Keeps the newest snapshot of each product (event ids grow with time). */
  snapshotStock(row: Insertable<StockTable>): void {
    const known = this.stock.get(row.product_id);
    if (!known || known.event_id < row.event_id) this.stock.set(row.product_id, row);
  }

  async write(tx: Tx, tenantId: string): Promise<void> {
    const sorted = <T>(map: Map<string, T>) =>
      [...map].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
    await repo.bumpSales(tx, tenantId, sorted(this.sales));
    await repo.bumpCurrencies(
      tx,
      tenantId,
      [...this.currencies]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([currency, orders]) => ({ currency, orders })),
    );
    await repo.bumpProducts(tx, tenantId, sorted(this.products));
    await repo.bumpRollups(
      tx,
      tenantId,
      [...this.rollups].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, rows]) => [name, sorted(rows)]),
    );
    await repo.bumpPairs(tx, tenantId, sorted(this.pairs));
    await repo.upsertStock(tx, sorted(this.stock));
  }

  private addToRollup(
    name: RollupName,
    currency: string,
    time: Date | string,
    key: string,
    sums: [number, number],
  ): void {
    const rows = this.rollups.get(name) ?? new Map<string, RollupBump>();
    const rowKey = `${currency}|${at(time)}|${key}`;
    const row = rows.get(rowKey) ?? { currency, at: time, key, sums: [0, 0] };
    row.sums = [row.sums[0] + sums[0], row.sums[1] + sums[1]];
    rows.set(rowKey, row);
    this.rollups.set(name, rows);
  }

  private product(productId: string): ProductBump {
    const known = this.products.get(productId);
    if (known) return known;
    const fresh = { product_id: productId, sku: null, name: null, paid_orders: 0, quantity: 0 };
    this.products.set(productId, fresh);
    return fresh;
  }
}
