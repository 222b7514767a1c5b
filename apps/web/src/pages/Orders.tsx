import type { Web } from '@tessera/contracts';
import { ORDER_STATUSES } from '@tessera/contracts/statuses';
import { Link, useSearchParams } from 'react-router';
import { LoadMore } from '../components/LoadMore';
import { CsvExport } from '../components/CsvExport';
import {
  Badge,
  DataTable,
  EmptyState,
  ErrorState,
  Loading,
  Money,
  PageHeader,
  SelectField,
} from '../components/ui';
import { useCan } from '../lib/auth';
import { formatDateTime, label } from '../lib/format';
import { usePagedList } from '../lib/queries';

export default function Orders() {
  const can = useCan();
  const [params, setParams] = useSearchParams();
  const status = params.get('status') ?? '';
  const list = usePagedList<Web.Order>(['orders', 'list'], '/commerce/orders', {
    status: status || undefined,
  });
  return (
    <>
      <PageHeader
        title="Orders"
        actions={
          can('write:orders') && (
            <Link to="/orders/new" className="button button-primary">
              New order
            </Link>
          )
        }
      />
      {/* Apart from the list's filters, before them: its days choose the file, not the list. */}
      <CsvExport path="/commerce/orders/export" what="orders" />
      <div className="filters">
        <SelectField
          label="Status"
          value={status}
          onChange={(event) => setParams(event.target.value ? { status: event.target.value } : {})}
        >
          <option value="">All</option>
          {ORDER_STATUSES.map((value) => (
            <option key={value} value={value}>
              {label(value)}
            </option>
          ))}
        </SelectField>
      </div>
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorState error={list.error} retry={() => void list.refetch()} />
      ) : list.items.length === 0 ? (
        <EmptyState title={status ? `No ${label(status).toLowerCase()} orders.` : 'No orders yet.'}>
          {can('write:orders') && !status && <Link to="/orders/new">Take the first order</Link>}
        </EmptyState>
      ) : (
        <>
          <DataTable
            caption="Orders"
            rows={list.items}
            rowKey={(order) => order.id}
            columns={[
              { header: 'Order', cell: (order) => <Link to={`/orders/${order.id}`}>#{order.number}</Link> },
              { header: 'Placed', cell: (order) => formatDateTime(order.created_at) },
              { header: 'Status', cell: (order) => <Badge value={order.status} /> },
              { header: 'Payment', cell: (order) => <Badge value={order.payment_status} /> },
              {
                header: 'Items',
                numeric: true,
                cell: (order) => order.lines.reduce((sum, line) => sum + line.quantity, 0),
              },
              {
                header: 'Total',
                numeric: true,
                cell: (order) => <Money amount={order.total} currency={order.currency} />,
              },
            ]}
          />
          <LoadMore {...list} />
        </>
      )}
    </>
  );
}
