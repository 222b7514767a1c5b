import type { Web } from '@tessera/contracts';
import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { DisputesTable } from '../components/disputes';
import { AuthorizationActions, NextAction, RequestRefund } from '../components/payments';
import { Badge, DataTable, EmptyState, ErrorState, Loading, Money, PageHeader } from '../components/ui';
import { api } from '../lib/api';
import { useCan } from '../lib/auth';
import { formatDateTime, label } from '../lib/format';
import type { ListedPayment } from '../lib/payment-orders';
import { captureHeld } from '../lib/payment-state';
import { isNotFound, isRecordId } from '../lib/problem';
import NotFound from './NotFound';

export default function PaymentDetail() {
  const { id = '' } = useParams();
  const valid = isRecordId(id);
  const can = useCan();
  const payment = useQuery({
    queryKey: ['payments', 'detail', id],
    queryFn: ({ signal }) => api<ListedPayment>(`/commerce/payments/${id}`, { signal }),
    enabled: valid,
  });
  const disputes = useQuery({
    queryKey: ['disputes', 'payment', id],
    queryFn: ({ signal }) =>
      api<Web.Page<Web.Dispute>>('/commerce/disputes', { query: { payment_id: id }, signal }),
    enabled: valid,
  });
  // Cash or a check: a check is recorded with a method of its own, labelled with its number.
  const methodId = payment.data?.gateway === 'manual' ? payment.data.payment_method_id : null;
  const method = useQuery({
    queryKey: ['payment-methods', methodId],
    queryFn: ({ signal }) => api<Web.PaymentMethod>(`/commerce/payment-methods/${methodId}`, { signal }),
    enabled: methodId !== null,
  });
  if (!valid) return <NotFound />;
  if (payment.isPending) return <Loading />;
  if (payment.isError) {
    return isNotFound(payment.error) ? (
      <NotFound />
    ) : (
      <ErrorState error={payment.error} retry={() => void payment.refetch()} />
    );
  }
  const p = payment.data;
  const held = captureHeld(p);
  return (
    <>
      <PageHeader title={`${label(p.gateway)} payment`}>
        <p className="badges">
          <Badge value={p.status} /> <span className="muted">{formatDateTime(p.created_at)}</span>
        </p>
      </PageHeader>
      <NextAction payment={p} />
      <dl className="stats">
        <div>
          <dt>Amount</dt>
          <dd>
            <Money amount={p.amount} currency={p.currency} />
          </dd>
        </div>
        <div>
          <dt>Authorized</dt>
          <dd>
            <Money amount={p.amount_authorized} currency={p.currency} />
          </dd>
        </div>
        <div>
          <dt>Captured</dt>
          <dd>
            <Money amount={p.amount_captured} currency={p.currency} />
          </dd>
        </div>
        <div>
          <dt>Refunded</dt>
          <dd>
            <Money amount={p.amount_refunded} currency={p.currency} />
          </dd>
        </div>
        {p.gateway === 'manual' && (methodId === null || method.data) && (
          <div>
            <dt>Paid by</dt>
            <dd>{method.data?.type === 'check' ? (method.data.label ?? 'Check') : 'Cash'}</dd>
          </div>
        )}
        {/* Where cash was handed over: what went back to the customer, as the order page shows. */}
        {p.change_due !== null && (
          <div>
            <dt>Change given</dt>
            <dd>
              <Money amount={p.change_due} currency={p.currency} />
            </dd>
          </div>
        )}
      </dl>
      {p.failure_message && (
        <p className="alert alert-error">
          {p.failure_code ? `${p.failure_code}: ` : ''}
          {p.failure_message}
        </p>
      )}
      <p>
        <Link to={`/orders/${p.order_id}`}>Open order #{p.order_number}</Link>
        {p.gateway_reference && (
          <span className="muted">
            {' '}
            · Gateway reference <code>{p.gateway_reference}</code>
          </span>
        )}
      </p>
      {held && (
        <p className="alert" role="status">
          {label(p.gateway)} is holding the capture, for a review or for the funds to clear. The payment
          completes, or fails, when {label(p.gateway)} settles it.
        </p>
      )}
      {can('write:payments') && (
        <div className="inline-actions">
          {!held && <AuthorizationActions payment={p} />}
          <RequestRefund payment={p} />
        </div>
      )}
      {disputes.data && disputes.data.data.length > 0 && (
        <section aria-labelledby="disputes-title">
          <h2 id="disputes-title">Disputes</h2>
          <p className="muted">
            The customer&rsquo;s bank disputes this payment. Answer in {label(p.gateway)}&rsquo;s dashboard,
            with the evidence it asks for.
          </p>
          <DisputesTable rows={disputes.data.data} withPayment={false} />
        </section>
      )}
      <section aria-labelledby="audit-title">
        <h2 id="audit-title">Gateway calls</h2>
        {p.transactions && p.transactions.length > 0 ? (
          <DataTable
            caption="Gateway calls"
            rows={p.transactions}
            rowKey={(entry) => entry.id ?? `${entry.kind}:${entry.created_at}`}
            columns={[
              { header: 'When', cell: (entry) => formatDateTime(entry.created_at) },
              { header: 'Call', cell: (entry) => label(entry.kind) },
              {
                header: 'Amount',
                numeric: true,
                cell: (entry) =>
                  entry.amount === null ? '—' : <Money amount={entry.amount} currency={p.currency} />,
              },
              { header: 'Outcome', cell: (entry) => <Badge value={entry.outcome} /> },
              {
                header: 'Refusal',
                cell: (entry) => entry.failure_message ?? entry.failure_code ?? '—',
              },
              {
                header: 'Reference',
                cell: (entry) => (entry.gateway_reference ? <code>{entry.gateway_reference}</code> : '—'),
              },
            ]}
          />
        ) : (
          <EmptyState title="No gateway calls recorded." />
        )}
      </section>
    </>
  );
}
