import type { Web } from '@tessera/contracts';
import { useEffect, useState } from 'react';
import { Link, useLocation, useSearchParams } from 'react-router';
import { LoadMore } from '../components/LoadMore';
import {
  Badge,
  DataTable,
  EmptyState,
  ErrorState,
  Loading,
  Money,
  PageHeader,
  SelectField,
  TextField,
} from '../components/ui';
import { useCan } from '../lib/auth';
import { useDebounced } from '../lib/debounce';
import { usePagedList } from '../lib/queries';

/** The name of the product just created, which its form hands over when it leads here. */
function createdName(state: unknown): string | undefined {
  return typeof state === 'object' &&
    state !== null &&
    'created' in state &&
    typeof state.created === 'string'
    ? state.created
    : undefined;
}

export default function Products() {
  const can = useCan();
  const created = createdName(useLocation().state);
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const active = params.get('active') ?? 'true';
  const [search, setSearch] = useState(q);

  // Typing searches after a pause; the query lives in the URL so back/forward and links keep it.
  const settled = useDebounced(search, 300);
  useEffect(() => {
    if (settled === q) return;
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        if (settled) next.set('q', settled);
        else next.delete('q');
        return next;
      },
      { replace: true },
    );
  }, [settled, q, setParams]);

  const list = usePagedList<Web.Product>(['products', 'list'], '/commerce/products', {
    q: q || undefined,
    active: active === 'all' ? undefined : active,
  });

  return (
    <>
      <PageHeader
        title="Products"
        actions={
          can('write:products') && (
            <Link to="/products/new" className="button button-primary">
              New product
            </Link>
          )
        }
      />
      {created && <p role="status">Product “{created}” created.</p>}
      <div className="filters" role="search">
        <TextField
          label="Search by name or SKU"
          type="search"
          value={search}
          onChange={(event) => setSearch(event.target.value)}
        />
        <SelectField
          label="Show"
          value={active}
          onChange={(event) =>
            setParams((current) => {
              const next = new URLSearchParams(current);
              next.set('active', event.target.value);
              return next;
            })
          }
        >
          <option value="true">Active</option>
          <option value="false">Archived</option>
          <option value="all">All</option>
        </SelectField>
      </div>
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorState error={list.error} retry={() => void list.refetch()} />
      ) : list.items.length === 0 ? (
        <EmptyState title={q ? `No product matches “${q}”.` : 'No products yet.'}>
          {can('write:products') && !q && <Link to="/products/new">Add your first product</Link>}
        </EmptyState>
      ) : (
        <>
          <DataTable
            caption="Products"
            rows={list.items}
            rowKey={(product) => product.id}
            columns={[
              {
                header: 'Name',
                cell: (product) => <Link to={`/products/${product.id}`}>{product.name}</Link>,
              },
              { header: 'SKU', cell: (product) => <code>{product.sku}</code> },
              {
                header: 'Price',
                numeric: true,
                cell: (product) => <Money amount={product.price} currency={product.currency} />,
              },
              {
                header: 'Status',
                cell: (product) => <Badge value={product.active ? 'active' : 'archived'} />,
              },
            ]}
          />
          <LoadMore {...list} />
        </>
      )}
    </>
  );
}
