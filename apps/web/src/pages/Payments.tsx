import { PAYMENT_STATUSES } from '@tessera/contracts/statuses';
import { Link, useSearchParams } from 'react-router';
import { CsvExport } from '../components/CsvExport';
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
} from '../components/ui';
import { formatDateTime, label } from '../lib/format';
import type { ListedPayment } from '../lib/payment-orders';
import { usePagedList } from '../lib/queries';

export default function Payments() {
  const [params, setParams] = useSearchParams();
  const status = params.get('status') ?? '';
  const list = usePagedList<ListedPayment>(['payments', 'list'], '/commerce/payments', {
    status: status || undefined,
  });
  return (
    <>
      <PageHeader title="Payments" />
      {/* Apart from the list's filters, before them: its days choose the file, not the list. */}
      <CsvExport path="/commerce/payments/export" what="payments" />
      <div className="filters">
        <SelectField
          label="Status"
          value={status}
          onChange={(event) => setParams(event.target.value ? { status: event.target.value } : {})}
        >
          <option value="">All</option>
          {PAYMENT_STATUSES.map((value) => (
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
        <EmptyState title="No payments yet." />
      ) : (
        <>
          <DataTable
            caption="Payments"
            rows={list.items}
            rowKey={(payment) => payment.id}
            columns={[
              {
                header: 'When',
                cell: (payment) => (
                  <Link to={`/payments/${payment.id}`}>{formatDateTime(payment.created_at)}</Link>
                ),
              },
              { header: 'Gateway', cell: (payment) => label(payment.gateway) },
              { header: 'Status', cell: (payment) => <Badge value={payment.status} /> },
              {
                header: 'Amount',
                numeric: true,
                cell: (payment) => <Money amount={payment.amount} currency={payment.currency} />,
              },
              {
                header: 'Order',
                cell: (payment) => <Link to={`/orders/${payment.order_id}`}>#{payment.order_number}</Link>,
              },
            ]}
          />
          <LoadMore {...list} />
        </>
      )}
    </>
  );
}
