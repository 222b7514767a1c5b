import type { Insertable } from 'kysely';
import type { Tx } from '../../platform/db/tenant';
import {
  analyticsRepository as repo,
  type ProductSnapshot,
  type SalesBump,
  type SalesIncrement,
  type StockTable,
} from './repository';

const SALES_FIELDS = ['orders', 'order_value', 'items_sold', 'revenue', 'refunded'] as const;

/**
 * What a batch of events does to the rollups that only add up (sales, orders per currency) and to
 * the snapshots where the latest wins (stock, product names), gathered in memory and written at
 * the end in one statement per table instead of one per event, rows in key order. (Two workers do
 * not interleave one tenant's batches: see the repository's lockTenantMetrics.)
 */
export class PendingMetrics {
  private readonly sales = new Map<string, SalesBump>();
  private readonly currencies = new Map<string, number>();
  private readonly products = new Map<string, ProductSnapshot>();
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
      const known = this.products.get(product.product_id);
      this.products.set(product.product_id, {
        product_id: product.product_id,
        sku: product.sku ?? known?.sku ?? null,
        name: product.name ?? known?.name ?? null,
      });
    }
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
    await repo.rememberProducts(tx, tenantId, sorted(this.products));
    await repo.upsertStock(tx, sorted(this.stock));
  }
}
