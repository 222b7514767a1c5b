import type { Web } from '@tessera/contracts';
import { Link, useSearchParams } from 'react-router';
import { LoadMore } from '../components/LoadMore';
import { DataTable, EmptyState, ErrorState, Loading, PageHeader } from '../components/ui';
import { usePagedList, useProductsById } from '../lib/queries';

export function isLow(level: Web.StockLevel): boolean {
  return level.available <= level.low_stock_threshold;
}

export default function Inventory() {
  const [params, setParams] = useSearchParams();
  const lowOnly = params.get('low') === '1';
  const list = usePagedList<Web.StockLevel>(['inventory', 'list'], '/commerce/inventory', {
    low_stock: lowOnly || undefined,
  });
  const rows = list.items;
  const products = useProductsById(rows.map((level) => level.product_id));
  // An archived product is not sold: its level raises no alert (the low_stock filter leaves it out).
  const alerts = (level: Web.StockLevel) =>
    isLow(level) && products.data?.get(level.product_id)?.active !== false;
  const lowCount = list.items.filter(alerts).length;

  return (
    <>
      <PageHeader title="Inventory">
        {lowCount > 0 && (
          <p className="muted">
            {lowCount} {lowCount === 1 ? 'product is' : 'products are'} at or below their low-stock level.
          </p>
        )}
      </PageHeader>
      <div className="filters">
        <label className="checkbox">
          <input
            type="checkbox"
            checked={lowOnly}
            onChange={(event) => setParams(event.target.checked ? { low: '1' } : {}, { replace: true })}
          />
          Low stock only
        </label>
      </div>
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorState error={list.error} retry={() => void list.refetch()} />
      ) : rows.length === 0 ? (
        <EmptyState title={lowOnly ? 'Nothing is low on stock.' : 'No stock recorded yet.'}>
          {!lowOnly && <p>Stock appears here once products exist; adjust it from a product’s stock page.</p>}
        </EmptyState>
      ) : (
        <>
          <DataTable
            caption="Stock levels"
            rows={rows}
            rowKey={(level) => level.product_id}
            rowClassName={(level) => (alerts(level) ? 'low-stock' : undefined)}
            columns={[
              {
                header: 'Product',
                cell: (level) => (
                  <Link to={`/inventory/${level.product_id}`}>
                    {products.data?.get(level.product_id)?.name ?? level.sku}
                  </Link>
                ),
              },
              { header: 'SKU', cell: (level) => <code>{level.sku}</code> },
              { header: 'On hand', numeric: true, cell: (level) => level.on_hand },
              { header: 'Reserved', numeric: true, cell: (level) => level.reserved },
              {
                header: 'Available',
                numeric: true,
                cell: (level) => (
                  <>
                    {level.available}
                    {alerts(level) && <span className="badge badge-low">Low</span>}
                  </>
                ),
              },
              { header: 'Low at', numeric: true, cell: (level) => level.low_stock_threshold },
            ]}
          />
          <LoadMore {...list} />
        </>
      )}
    </>
  );
}
