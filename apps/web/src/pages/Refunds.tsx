import type { Web } from '@tessera/contracts';
import { REFUND_STATUSES } from '@tessera/contracts/statuses';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { LoadMore } from '../components/LoadMore';
import {
  Badge,
  Button,
  DataTable,
  EmptyState,
  ErrorState,
  FormError,
  Loading,
  Money,
  PageHeader,
  SelectField,
} from '../components/ui';
import { api } from '../lib/api';
import { formatDateTime, formatMoney } from '../lib/format';
import { usePagedList, useStatusParam } from '../lib/queries';

function ProcessButton({ refund }: { refund: Web.Refund }) {
  const queryClient = useQueryClient();
  const process = useMutation({
    // The refund's own id makes the key: processing one refund twice must send money back once.
    mutationFn: () =>
      api<Web.Refund>(`/commerce/refunds/${refund.id}/process`, {
        method: 'POST',
        idempotencyKey: `process-${refund.id}`,
      }),
    onSuccess: async () => {
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: ['refunds'] }),
        queryClient.invalidateQueries({ queryKey: ['payments'] }),
        queryClient.invalidateQueries({ queryKey: ['orders'] }),
      ]);
    },
  });
  if (refund.status !== 'pending') return null;
  // Sent already: the gateway settles it, and this page shows it once it has.
  if (refund.gateway_reference) return <span className="muted">Waiting for the gateway</span>;
  return (
    <>
      <Button
        variant="secondary"
        busy={process.isPending}
        onClick={() => process.mutate()}
        aria-label={`Approve and process refund of ${formatMoney(refund.amount, refund.currency)}`}
      >
        Approve and process
      </Button>
      <FormError error={process.error} />
    </>
  );
}

/** Refund approvals: requested refunds, sent to the gateway by someone with write:refunds. */
export default function Refunds() {
  // Anything but a refund status or "all" in the address shows those awaiting approval.
  const [status, setStatus] = useStatusParam(REFUND_STATUSES, 'pending');
  // The API filters by status, page by page: an older pending refund is found however many newer
  // refunds were processed, and "Show more" pages through pending ones only.
  const list = usePagedList<Web.Refund>(
    ['refunds', 'list'],
    '/commerce/refunds',
    status === 'all' ? {} : { status },
  );
  const rows = list.items;
  return (
    <>
      <PageHeader title="Refund approvals" />
      <div className="filters">
        <SelectField label="Show" value={status} onChange={(event) => setStatus(event.target.value)}>
          <option value="pending">Awaiting approval</option>
          <option value="processed">Processed</option>
          <option value="failed">Failed</option>
          <option value="all">All</option>
        </SelectField>
      </div>
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorState error={list.error} retry={() => void list.refetch()} />
      ) : rows.length === 0 ? (
        <>
          <EmptyState title={status === 'pending' ? 'No refund awaits approval.' : 'No refunds here.'} />
          {/* The empty state never hides paging: a page answered empty with a cursor leads on. */}
          <LoadMore {...list} />
        </>
      ) : (
        <>
          <DataTable
            caption="Refunds"
            rows={rows}
            rowKey={(refund) => refund.id}
            columns={[
              { header: 'Requested', cell: (refund) => formatDateTime(refund.created_at) },
              {
                header: 'Amount',
                numeric: true,
                cell: (refund) => <Money amount={refund.amount} currency={refund.currency} />,
              },
              { header: 'Reason', cell: (refund) => refund.reason ?? '—' },
              { header: 'Status', cell: (refund) => <Badge value={refund.status} /> },
              {
                header: 'Payment',
                cell: (refund) => <Link to={`/payments/${refund.payment_id}`}>View payment</Link>,
              },
              { header: 'Action', cell: (refund) => <ProcessButton refund={refund} /> },
            ]}
          />
          <LoadMore {...list} />
        </>
      )}
    </>
  );
}
