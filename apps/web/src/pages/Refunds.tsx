import type { Web } from '@tessera/contracts';
import { REFUND_STATUSES } from '@tessera/contracts/statuses';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { LoadMore } from '../components/LoadMore';
import {
  Badge,
  Button,
  DataTable,
  Dialog,
  EmptyState,
  ErrorState,
  FormError,
  Loading,
  Money,
  PageHeader,
  SelectField,
} from '../components/ui';
import { api } from '../lib/api';
import { formatDateTime, formatMoney, label } from '../lib/format';
import type { ListedPayment, ListedRefund } from '../lib/payment-orders';
import { paymentOfTender, paymentTender, refundHandling } from '../lib/payment-refund';
import { usePagedList, useStatusParam } from '../lib/queries';

/** What processing a refund came to, as its answer's status tells. */
function processedText(refund: Web.Refund): string {
  const amount = formatMoney(refund.amount, refund.currency);
  switch (refund.status) {
    case 'processed':
      return `Refund of ${amount} processed.`;
    case 'pending':
      return `Refund of ${amount} sent, pending at the gateway until it settles.`;
    case 'failed':
      return `Refund of ${amount} failed${refund.failure_code ? `: ${label(refund.failure_code)}.` : '.'}`;
  }
}

/**
 * Asks before a refund is sent: it moves money back to the customer, which cannot be called back.
 * Cash and checks go back by hand, which the approver is told to do.
 */
function ApproveRefundDialog({
  refund,
  onClose,
  onProcessed,
}: {
  refund: ListedRefund;
  onClose: () => void;
  onProcessed: (answer: Web.Refund) => void;
}) {
  const queryClient = useQueryClient();
  // The payment the money goes back from, and for cash or a check its method (a check has one).
  const payment = useQuery({
    queryKey: ['payments', 'detail', refund.payment_id],
    queryFn: ({ signal }) => api<ListedPayment>(`/commerce/payments/${refund.payment_id}`, { signal }),
  });
  const methodId = payment.data?.gateway === 'manual' ? payment.data.payment_method_id : null;
  const method = useQuery({
    queryKey: ['payment-methods', methodId],
    queryFn: ({ signal }) => api<Web.PaymentMethod>(`/commerce/payment-methods/${methodId}`, { signal }),
    enabled: methodId !== null,
  });
  const process = useMutation({
    // The refund's own id makes the key: processing one refund twice must send money back once.
    mutationFn: () =>
      api<Web.Refund>(`/commerce/refunds/${refund.id}/process`, {
        method: 'POST',
        idempotencyKey: `process-${refund.id}`,
      }),
    onSuccess: async (answer) => {
      onProcessed(answer);
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: ['refunds'] }),
        queryClient.invalidateQueries({ queryKey: ['payments'] }),
        queryClient.invalidateQueries({ queryKey: ['orders'] }),
      ]);
    },
  });
  const amount = formatMoney(refund.amount, refund.currency);
  const tender =
    !payment.data || (methodId !== null && method.isPending)
      ? null
      : paymentTender(payment.data.gateway, methodId === null ? null : method.data?.type);
  return (
    <Dialog title="Approve the refund" open onClose={onClose}>
      <p>
        Refund {amount} of {tender ? paymentOfTender(tender) : 'the payment'} for order #{refund.order_number}{' '}
        to the customer?
      </p>
      {refund.reason && <p className="muted">Reason given: {refund.reason}</p>}
      {tender && <p>{refundHandling(tender, amount)}</p>}
      <FormError error={process.error} />
      <div className="actions">
        <Button busy={process.isPending} onClick={() => process.mutate()}>
          Refund {amount}
        </Button>
        <Button variant="ghost" onClick={onClose}>
          Cancel
        </Button>
      </div>
    </Dialog>
  );
}

function ApproveButton({ refund, onApprove }: { refund: Web.Refund; onApprove: () => void }) {
  if (refund.status !== 'pending') return null;
  // Sent already: the gateway settles it, and this page shows it once it has.
  if (refund.gateway_reference) return <span className="muted">Waiting for the gateway</span>;
  return (
    <Button
      variant="secondary"
      onClick={onApprove}
      aria-label={`Approve and process refund of ${formatMoney(refund.amount, refund.currency)}`}
    >
      Approve and process
    </Button>
  );
}

/** Refund approvals: requested refunds, sent to the gateway by someone with write:refunds. */
export default function Refunds() {
  // Anything but a refund status or "all" in the address shows those awaiting approval.
  const [status, setStatus] = useStatusParam(REFUND_STATUSES, 'pending');
  // The API filters by status, page by page: an older pending refund is found however many newer
  // refunds were processed, and "Show more" pages through pending ones only.
  const list = usePagedList<ListedRefund>(
    ['refunds', 'list'],
    '/commerce/refunds',
    status === 'all' ? {} : { status },
  );
  const rows = list.items;
  const [approving, setApproving] = useState<ListedRefund | null>(null);
  const [processed, setProcessed] = useState<Web.Refund | null>(null);
  const outcome = useRef<HTMLParagraphElement>(null);
  // The row approved leaves the pending list, and its button with it: focus goes to what came of it.
  useEffect(() => outcome.current?.focus(), [processed]);
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
      {processed && (
        <p
          ref={outcome}
          tabIndex={-1}
          role="status"
          className={`alert ${processed.status === 'failed' ? 'alert-error' : 'alert-info'}`}
        >
          {processedText(processed)}
        </p>
      )}
      {approving && (
        <ApproveRefundDialog
          refund={approving}
          onClose={() => setApproving(null)}
          onProcessed={(answer) => {
            setApproving(null);
            setProcessed(answer);
          }}
        />
      )}
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
                header: 'Order',
                cell: (refund) => <Link to={`/orders/${refund.order_id}`}>#{refund.order_number}</Link>,
              },
              {
                header: 'Payment',
                cell: (refund) => <Link to={`/payments/${refund.payment_id}`}>View payment</Link>,
              },
              {
                header: 'Action',
                cell: (refund) => <ApproveButton refund={refund} onApprove={() => setApproving(refund)} />,
              },
            ]}
          />
          <LoadMore {...list} />
        </>
      )}
    </>
  );
}
