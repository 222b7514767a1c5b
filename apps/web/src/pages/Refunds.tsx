import type { Web } from '@tessera/contracts';
import { REFUND_STATUSES } from '@tessera/contracts/statuses';
import { useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { LoadMore } from '../components/LoadMore';
import { RefundStatus } from '../components/payments';
import {
  Button,
  ConfirmDialog,
  DataTable,
  Dialog,
  EmptyState,
  ErrorState,
  FormError,
  Loading,
  Money,
  PageHeader,
  SelectField,
  TextField,
} from '../components/ui';
import { api } from '../lib/api';
import { formatDateTime, formatMoney, label } from '../lib/format';
import { useIdempotencyKey } from '../lib/idempotency';
import type { ListedPayment, ListedRefund } from '../lib/payment-orders';
import { paymentOfTender, paymentTender, refundHandling, refundState } from '../lib/payment-refund';
import { usePagedList, useStatusParam } from '../lib/queries';

/** What approving or declining a refund came to, as its answer tells. */
function outcomeText(refund: Web.Refund): string {
  const amount = formatMoney(refund.amount, refund.currency);
  switch (refundState(refund)) {
    case 'processed':
      return `Refund of ${amount} processed.`;
    case 'pending':
      return `Refund of ${amount} sent, pending at the gateway until it settles.`;
    case 'declined':
      return `Refund of ${amount} declined. Nothing was paid back; the amount can be requested again.`;
    case 'failed':
      return `Refund of ${amount} failed${refund.failure_code ? `: ${label(refund.failure_code)}.` : '.'}`;
  }
}

/** The lists and pages a refund's approval or decline changes. */
function refundSettled(queryClient: QueryClient) {
  return Promise.all([
    queryClient.invalidateQueries({ queryKey: ['refunds'] }),
    queryClient.invalidateQueries({ queryKey: ['payments'] }),
    queryClient.invalidateQueries({ queryKey: ['orders'] }),
  ]);
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
      await refundSettled(queryClient);
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

/**
 * Asks before a refund request is declined, with an optional reason kept with the refund: nothing
 * is paid back, and what it held of the payment can be requested again.
 */
function DeclineRefundDialog({
  refund,
  onClose,
  onDeclined,
}: {
  refund: ListedRefund;
  onClose: () => void;
  onDeclined: (answer: Web.Refund) => void;
}) {
  const queryClient = useQueryClient();
  const [reason, setReason] = useState('');
  const idempotency = useIdempotencyKey();
  const decline = useMutation({
    mutationFn: (body: { reason?: string }) =>
      api<Web.Refund>(`/commerce/refunds/${refund.id}/decline`, {
        method: 'POST',
        body,
        idempotencyKey: idempotency.keyFor(body),
      }),
    onSettled: async (_answer, error) => {
      idempotency.settle(error);
      // Refused, it was approved or sent meanwhile: the list shows where it stands now.
      if (error) await queryClient.invalidateQueries({ queryKey: ['refunds'] });
    },
    onSuccess: async (answer) => {
      onDeclined(answer);
      await refundSettled(queryClient);
    },
  });
  const amount = formatMoney(refund.amount, refund.currency);
  return (
    <ConfirmDialog
      title="Decline the refund request"
      confirmLabel="Decline refund"
      dismissLabel="Keep request"
      busy={decline.isPending}
      error={decline.error}
      onConfirm={() => decline.mutate(reason.trim() ? { reason: reason.trim() } : {})}
      onClose={onClose}
    >
      <p>
        Decline the refund of {amount} for order #{refund.order_number}? Nothing is paid back to the customer,
        and the amount can be requested again later.
      </p>
      {refund.reason && <p className="muted">Reason given: {refund.reason}</p>}
      <TextField
        label="Why it is declined (optional)"
        hint="Shown with the refund on the order."
        maxLength={500}
        value={reason}
        onChange={(event) => setReason(event.target.value)}
      />
    </ConfirmDialog>
  );
}

function RefundActions({
  refund,
  onApprove,
  onDecline,
}: {
  refund: Web.Refund;
  onApprove: () => void;
  onDecline: () => void;
}) {
  if (refund.status !== 'pending') return null;
  // Sent already: the gateway settles it, and this page shows it once it has.
  if (refund.gateway_reference) return <span className="muted">Waiting for the gateway</span>;
  const amount = formatMoney(refund.amount, refund.currency);
  return (
    <div className="inline-actions">
      <Button variant="secondary" onClick={onApprove} aria-label={`Approve and process refund of ${amount}`}>
        Approve and process
      </Button>
      <Button variant="ghost" onClick={onDecline} aria-label={`Decline refund of ${amount}`}>
        Decline
      </Button>
    </div>
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
  const [declining, setDeclining] = useState<ListedRefund | null>(null);
  const [settled, setSettled] = useState<Web.Refund | null>(null);
  const outcome = useRef<HTMLParagraphElement>(null);
  // The row approved or declined leaves the pending list, and its buttons with it: focus goes to
  // what came of it.
  useEffect(() => outcome.current?.focus(), [settled]);
  return (
    <>
      <PageHeader title="Refund approvals" />
      <div className="filters">
        <SelectField label="Show" value={status} onChange={(event) => setStatus(event.target.value)}>
          <option value="pending">Awaiting approval</option>
          <option value="processed">Processed</option>
          <option value="failed">Failed or declined</option>
          <option value="all">All</option>
        </SelectField>
      </div>
      {settled && (
        <p
          ref={outcome}
          tabIndex={-1}
          role="status"
          className={`alert ${refundState(settled) === 'failed' ? 'alert-error' : 'alert-info'}`}
        >
          {outcomeText(settled)}
        </p>
      )}
      {approving && (
        <ApproveRefundDialog
          refund={approving}
          onClose={() => setApproving(null)}
          onProcessed={(answer) => {
            setApproving(null);
            setSettled(answer);
          }}
        />
      )}
      {declining && (
        <DeclineRefundDialog
          refund={declining}
          onClose={() => setDeclining(null)}
          onDeclined={(answer) => {
            setDeclining(null);
            setSettled(answer);
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
              { header: 'Status', cell: (refund) => <RefundStatus refund={refund} /> },
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
                cell: (refund) => (
                  <RefundActions
                    refund={refund}
                    onApprove={() => setApproving(refund)}
                    onDecline={() => setDeclining(refund)}
                  />
                ),
              },
            ]}
          />
          <LoadMore {...list} />
        </>
      )}
    </>
  );
}
