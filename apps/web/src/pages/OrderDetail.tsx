import { paymentOfMoveReason, type Web } from '@tessera/contracts';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import {
  AuthorizationActions,
  NextAction,
  RefundStatus,
  RequestRefund,
  TakePaymentDialog,
} from '../components/payments';
import { EmailReceipt } from '../components/receipts';
import {
  Badge,
  Button,
  ConfirmDialog,
  DataTable,
  EmptyState,
  ErrorState,
  FormError,
  Loading,
  Money,
  PageHeader,
} from '../components/ui';
import { api } from '../lib/api';
import { useCan } from '../lib/auth';
import { formatDateTime, formatMoney, label } from '../lib/format';
import { useIdempotencyKey } from '../lib/idempotency';
import { useActorName } from '../lib/queries';
import { isNotFound, isRecordId } from '../lib/problem';
import NotFound from './NotFound';

/** Fulfils or cancels the order; `onMoved` runs once the page shows the order moved. */
function useOrderMove(order: Web.Order, move: 'fulfill' | 'cancel', onMoved?: () => void) {
  const queryClient = useQueryClient();
  const idempotency = useIdempotencyKey();
  return useMutation({
    mutationFn: () =>
      api<Web.Order>(`/commerce/orders/${order.id}/${move}`, {
        method: 'POST',
        idempotencyKey: idempotency.keyFor({ move, order: order.id }),
      }),
    onSettled: (_order, error) => idempotency.settle(error),
    onSuccess: async (updated) => {
      queryClient.setQueryData(['order', order.id], updated);
      onMoved?.();
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: ['order', order.id] }),
        queryClient.invalidateQueries({ queryKey: ['orders'] }),
        queryClient.invalidateQueries({ queryKey: ['inventory'] }),
      ]);
    },
  });
}

/** A history entry's reason; a payment's id becomes a link to that payment. */
function Reason({ text }: { text: string }) {
  const payment = paymentOfMoveReason(text);
  return payment ? <Link to={`/payments/${payment}`}>payment</Link> : text;
}

function History({ orderId }: { orderId: string }) {
  const history = useQuery({
    queryKey: ['order', orderId, 'history'],
    queryFn: ({ signal }) =>
      api<{ data: Web.OrderHistoryEntry[] }>(`/commerce/orders/${orderId}/history`, { signal }),
    select: (answer) => answer.data,
  });
  const actorName = useActorName();
  if (history.isPending) return <Loading />;
  if (history.isError) return <ErrorState error={history.error} retry={() => void history.refetch()} />;
  if (history.data.length === 0) return <EmptyState title="No changes yet." />;
  return (
    <ol className="timeline">
      {history.data.map((entry) => (
        <li key={entry.id}>
          <time dateTime={entry.created_at}>{formatDateTime(entry.created_at)}</time>{' '}
          {entry.from ? `${label(entry.from)} → ${label(entry.to)}` : `Placed (${label(entry.to)})`}
          <span className="muted">
            {' '}
            · {entry.actor.type === 'system' ? actorName(entry.actor) : `by ${actorName(entry.actor)}`}
          </span>
          {entry.reason && (
            <span className="muted">
              {' '}
              · <Reason text={entry.reason} />
            </span>
          )}
        </li>
      ))}
    </ol>
  );
}

function useOrderPayments(orderId: string) {
  return useQuery({
    queryKey: ['payments', 'order', orderId],
    queryFn: ({ signal }) =>
      api<Web.Page<Web.Payment>>('/commerce/payments', { query: { order_id: orderId }, signal }),
  });
}

/** A refund's payment, told apart from the order's others: its gateway, amount and time. */
function RefundedPayment({ payment }: { payment: Web.Payment | undefined }) {
  if (!payment) return '—';
  return (
    <>
      <Link to={`/payments/${payment.id}`}>
        {label(payment.gateway)} payment of {formatMoney(payment.amount, payment.currency)}
      </Link>
      <span className="muted"> · {formatDateTime(payment.created_at)}</span>
    </>
  );
}

function Payments({ order }: { order: Web.Order }) {
  const can = useCan();
  const payments = useOrderPayments(order.id);
  const refunds = useQuery({
    queryKey: ['refunds', 'order', order.id, payments.data?.data.map((payment) => payment.id).join(',')],
    enabled: Boolean(payments.data?.data.length),
    queryFn: async ({ signal }) => {
      const pages = await Promise.all(
        (payments.data?.data ?? []).map((payment) =>
          api<Web.Page<Web.Refund>>('/commerce/refunds', { query: { payment_id: payment.id }, signal }),
        ),
      );
      return pages.flatMap((page) => page.data);
    },
    // A new payment changes the key: the refunds known so far stay shown while it loads.
    placeholderData: keepPreviousData,
  });
  if (payments.isPending) return <Loading />;
  if (payments.isError) return <ErrorState error={payments.error} retry={() => void payments.refetch()} />;
  return (
    <>
      {payments.data.data.length === 0 ? (
        <EmptyState title="No payments yet." />
      ) : (
        <ul className="payment-list">
          {payments.data.data.map((payment) => (
            <li key={payment.id} className="card">
              <div className="payment-line">
                <Link to={`/payments/${payment.id}`}>{label(payment.gateway)} payment</Link>
                <Money amount={payment.amount} currency={payment.currency} />
                <Badge value={payment.status} />
                <span className="muted">{formatDateTime(payment.created_at)}</span>
              </div>
              {payment.change_due ? (
                <p className="muted">
                  Change given: <Money amount={payment.change_due} currency={payment.currency} />
                </p>
              ) : null}
              <NextAction payment={payment} />
              {can('write:payments') && (
                <div className="inline-actions">
                  <AuthorizationActions payment={payment} />
                  <RequestRefund payment={payment} />
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      <h3>Refunds</h3>
      {payments.data.data.length === 0 ? (
        <p className="muted">No refunds.</p>
      ) : refunds.isPending ? (
        <Loading label="Loading refunds…" />
      ) : refunds.isError ? (
        <ErrorState error={refunds.error} retry={() => void refunds.refetch()} />
      ) : refunds.data.length > 0 ? (
        <DataTable
          caption="Refunds"
          rows={refunds.data}
          rowKey={(refund) => refund.id}
          columns={[
            { header: 'Requested', cell: (refund) => formatDateTime(refund.created_at) },
            {
              header: 'Payment',
              cell: (refund) => (
                <RefundedPayment
                  payment={payments.data.data.find((payment) => payment.id === refund.payment_id)}
                />
              ),
            },
            {
              header: 'Amount',
              numeric: true,
              cell: (refund) => <Money amount={refund.amount} currency={refund.currency} />,
            },
            { header: 'Status', cell: (refund) => <RefundStatus refund={refund} /> },
            { header: 'Reason', cell: (refund) => refund.reason ?? '—' },
          ]}
        />
      ) : (
        <p className="muted">No refunds.</p>
      )}
    </>
  );
}

export default function OrderDetail() {
  const { id = '' } = useParams();
  return isRecordId(id) ? <OrderPage id={id} /> : <NotFound />;
}

function OrderPage({ id }: { id: string }) {
  const can = useCan();
  const [paying, setPaying] = useState(false);
  const order = useQuery({
    queryKey: ['order', id],
    queryFn: ({ signal }) => api<Web.Order>(`/commerce/orders/${id}`, { signal }),
  });
  if (order.isPending) return <Loading />;
  if (order.isError) {
    return isNotFound(order.error) ? (
      <NotFound />
    ) : (
      <ErrorState error={order.error} retry={() => void order.refetch()} />
    );
  }
  return (
    <OrderView
      // Another order's page starts afresh: nothing said about one order shows on the next.
      key={order.data.id}
      order={order.data}
      canWrite={can('write:orders')}
      canPay={can('write:payments')}
      paying={paying}
      setPaying={setPaying}
    />
  );
}

function OrderView({
  order,
  canWrite,
  canPay,
  paying,
  setPaying,
}: {
  order: Web.Order;
  canWrite: boolean;
  canPay: boolean;
  paying: boolean;
  setPaying: (open: boolean) => void;
}) {
  const [fulfilled, setFulfilled] = useState(false);
  const fulfil = useOrderMove(order, 'fulfill', () => setFulfilled(true));
  const cancel = useOrderMove(order, 'cancel');
  const [confirmingCancel, setConfirmingCancel] = useState(false);
  const [cancelled, setCancelled] = useState(false);
  const outcomeNote = useRef<HTMLParagraphElement>(null);
  // The "Fulfil" or "Cancel order" button is gone once the order moved: focus goes to what came of it.
  useEffect(() => {
    if (fulfilled || cancelled) outcomeNote.current?.focus();
  }, [fulfilled, cancelled]);
  const payments = useOrderPayments(order.id);
  // The API refuses to cancel an order while money captured for it is not refunded; the order's
  // amounts follow its payments a moment later, so the payments are asked too.
  const holdsMoney =
    order.amount_paid > order.amount_refunded ||
    (payments.data?.data.some((payment) => payment.amount_captured > payment.amount_refunded) ?? false);
  const due = order.total - order.amount_paid;
  return (
    <>
      <PageHeader
        title={`Order #${order.number}`}
        actions={
          <>
            {canPay && order.status === 'pending' && due > 0 && (
              <Button onClick={() => setPaying(true)}>Take payment</Button>
            )}
            {canWrite && order.status === 'paid' && (
              <Button variant="secondary" busy={fulfil.isPending} onClick={() => fulfil.mutate()}>
                Fulfil
              </Button>
            )}
            {canWrite && <EmailReceipt order={order} />}
            {canWrite && order.status === 'pending' && !holdsMoney && (
              <Button
                variant="danger"
                onClick={() => {
                  cancel.reset();
                  setConfirmingCancel(true);
                }}
              >
                Cancel order
              </Button>
            )}
          </>
        }
      >
        <p className="badges">
          <Badge value={order.status} /> <Badge value={order.payment_status} of="Payment" />
          <span className="muted">Placed {formatDateTime(order.created_at)}</span>
        </p>
        {canWrite && order.status === 'pending' && holdsMoney && (
          <p className="muted">
            To cancel this order, first refund the money taken for it (Request refund, under Payments).
          </p>
        )}
      </PageHeader>
      <FormError error={fulfil.error} />
      {(fulfilled || cancelled) && (
        <p ref={outcomeNote} tabIndex={-1} role="status" className="alert alert-info">
          {cancelled
            ? 'Order cancelled: its reserved stock was released.'
            : 'Order fulfilled: its items were taken out of stock.'}
        </p>
      )}
      <section aria-labelledby="lines-title">
        <h2 id="lines-title">Lines</h2>
        <DataTable
          caption="Order lines"
          rows={order.lines}
          rowKey={(line) => line.product_id}
          columns={[
            { header: 'Product', cell: (line) => line.name },
            { header: 'SKU', cell: (line) => <code>{line.sku}</code> },
            { header: 'Quantity', numeric: true, cell: (line) => line.quantity },
            {
              header: 'Unit price',
              numeric: true,
              cell: (line) => <Money amount={line.unit_price} currency={order.currency} />,
            },
            {
              header: 'Total',
              numeric: true,
              cell: (line) => <Money amount={line.line_total} currency={order.currency} />,
            },
          ]}
        />
        <dl className="totals">
          <div>
            <dt>Subtotal</dt>
            <dd>
              <Money amount={order.subtotal} currency={order.currency} />
            </dd>
          </div>
          <div>
            <dt>Total</dt>
            <dd>
              <Money amount={order.total} currency={order.currency} />
            </dd>
          </div>
          <div>
            <dt>Paid</dt>
            <dd>
              <Money amount={order.amount_paid} currency={order.currency} />
            </dd>
          </div>
          {order.amount_refunded > 0 && (
            <div>
              <dt>Refunded</dt>
              <dd>
                <Money amount={order.amount_refunded} currency={order.currency} />
              </dd>
            </div>
          )}
        </dl>
        {order.customer_email && <p>Customer: {order.customer_email}</p>}
        {order.note && <p>Note: {order.note}</p>}
      </section>
      <div className="grid-2">
        <section aria-labelledby="payments-title">
          <h2 id="payments-title">Payments</h2>
          <Payments order={order} />
        </section>
        <section aria-labelledby="history-title">
          <h2 id="history-title">History</h2>
          <History orderId={order.id} />
        </section>
      </div>
      {/* Mounted per opening: it starts from the amount then due, and keeps its result (the change
          due) while the order refetches underneath. */}
      {canPay && paying && <TakePaymentDialog order={order} open onClose={() => setPaying(false)} />}
      {confirmingCancel && (
        <ConfirmDialog
          title={`Cancel order #${order.number}?`}
          confirmLabel="Cancel order"
          dismissLabel="Keep order"
          busy={cancel.isPending}
          error={cancel.error}
          onConfirm={() =>
            cancel.mutate(undefined, {
              onSuccess: () => {
                setConfirmingCancel(false);
                setCancelled(true);
              },
            })
          }
          onClose={() => setConfirmingCancel(false)}
        >
          <p>
            Its reserved stock is released for other orders, and card payments only authorized for it are
            voided. A cancelled order cannot be reopened.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
