import type { Web } from '@tessera/contracts';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { LoadMore } from '../components/LoadMore';
import { CardGatewaySelect } from '../components/payments';
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
import { useCan } from '../lib/auth';
import { formatDateTime, label, startOfToday } from '../lib/format';
import { ApiError } from '../lib/problem';
import { usePagedList } from '../lib/queries';

const RESULTS: { value: Web.ReconciliationResult; label: string }[] = [
  { value: 'matched', label: 'Matched' },
  { value: 'missing_local', label: 'Missing here' },
  { value: 'missing_gateway', label: 'Missing at the gateway' },
  { value: 'amount_mismatch', label: 'Amounts differ' },
  { value: 'status_mismatch', label: 'Statuses differ' },
];

const DAY_MS = 86_400_000;

/** The periods offered, in the business's time zone: days start at its midnight. */
const PERIODS = {
  today: { label: 'Today', range: (today: number) => [today, Date.now()] },
  yesterday: { label: 'Yesterday', range: (today: number) => [today - DAY_MS, today] },
  week: { label: 'The last 7 days', range: (today: number) => [today - 6 * DAY_MS, Date.now()] },
  month: { label: 'The last 30 days', range: (today: number) => [today - 29 * DAY_MS, Date.now()] },
} satisfies Record<string, { label: string; range: (today: number) => [number, number] }>;
type Period = keyof typeof PERIODS;

/** Gateways as their makers write them (label() would say "Paypal"). */
const GATEWAY_NAMES: Partial<Record<Web.Gateway, string>> = {
  stripe: 'Stripe',
  square: 'Square',
  square_terminal: 'Square Terminal',
  paypal: 'PayPal',
};

function gatewayName(gateway: Web.Gateway): string {
  return GATEWAY_NAMES[gateway] ?? label(gateway);
}

/**
 * Why a comparison could not be made, in plain words: a gateway not set up yet (with the way to
 * Settings, for those who may open it) or one that did not answer (its reason given below).
 */
function ComparisonError({ error, gateway }: { error: unknown; gateway: Web.Gateway }) {
  const can = useCan();
  if (!(error instanceof ApiError)) return <FormError error={error} />;
  const name = gatewayName(gateway);
  // Square Terminal works through the Square account.
  const account = gatewayName(gateway === 'square_terminal' ? 'square' : gateway);
  if (error.code === 'gateway_not_configured') {
    return (
      <div className="alert alert-error" role="alert">
        <p>
          {name} is not set up for this business yet, so there is nothing to compare with.{' '}
          {can('manage:tenant') ? (
            <>
              Add your {account} account in <Link to="/settings">Settings</Link>, then compare again.
            </>
          ) : (
            `Ask an administrator to add your ${account} account in Settings.`
          )}
        </p>
      </div>
    );
  }
  if (error.code === 'gateway_error') {
    // The API's message is "<gateway> could not list its payments: <the gateway's own reason>".
    const reason = error.message.replace(/^\S+ could not list its payments: /, '');
    return (
      <div className="alert alert-error" role="alert">
        <p>{name} did not answer the comparison; try again later.</p>
        <p className="muted">Details: {reason}</p>
      </div>
    );
  }
  return <FormError error={error} />;
}

function resultLabel(result: Web.ReconciliationResult): string {
  return RESULTS.find((entry) => entry.value === result)?.label ?? label(result);
}

function ItemsTable({ caption, rows }: { caption: string; rows: Web.ReconciliationItem[] }) {
  const money = (amount: number | null, currency: string | null) =>
    amount === null || currency === null ? '—' : <Money amount={amount} currency={currency} />;
  return (
    <DataTable
      caption={caption}
      rows={rows}
      rowKey={(row) => row.id}
      columns={[
        { header: 'Result', cell: (row) => <Badge value={row.result} /> },
        { header: 'Gateway', cell: (row) => label(row.gateway) },
        {
          header: 'Payment',
          cell: (row) =>
            row.payment_id ? (
              <Link to={`/payments/${row.payment_id}`}>View payment</Link>
            ) : (
              'Not recorded here'
            ),
        },
        { header: 'Gateway reference', cell: (row) => row.gateway_reference ?? '—' },
        { header: 'Here', numeric: true, cell: (row) => money(row.local_amount, row.currency) },
        { header: 'At the gateway', numeric: true, cell: (row) => money(row.gateway_amount, row.currency) },
        { header: 'Refunded here', numeric: true, cell: (row) => money(row.local_refunded, row.currency) },
        {
          header: 'Refunded at the gateway',
          numeric: true,
          cell: (row) => money(row.gateway_refunded, row.currency),
        },
        {
          header: 'Status here / at the gateway',
          cell: (row) =>
            `${row.local_status ? label(row.local_status) : '—'} / ${row.gateway_status ? label(row.gateway_status) : '—'}`,
        },
        { header: 'Compared', cell: (row) => formatDateTime(row.created_at) },
      ]}
    />
  );
}

/** Compare a period's payments with the gateway's own records, and see earlier comparisons. */
export default function Reconciliation() {
  const can = useCan();
  const queryClient = useQueryClient();
  const [params, setParams] = useSearchParams();
  const shown = (params.get('result') ?? '') as Web.ReconciliationResult | '';
  const [gateway, setGateway] = useState<Web.Gateway>('stripe');
  const [period, setPeriod] = useState<Period>('today');
  const run = useMutation({
    // The gateway is the mutation's variable: an error names the one compared with, not the one now picked.
    mutationFn: (compared: Web.Gateway) => {
      const [from, to] = PERIODS[period].range(Date.parse(startOfToday()));
      return api<Web.ReconciliationRun>('/commerce/payments/reconcile', {
        method: 'POST',
        body: { gateway: compared, from: new Date(from).toISOString(), to: new Date(to).toISOString() },
      });
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['reconciliation'] }),
  });
  const earlier = usePagedList<Web.ReconciliationItem>(
    ['reconciliation', 'list'],
    '/commerce/payments/reconciliation',
    { result: shown || undefined },
  );

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    run.mutate(gateway);
  };

  return (
    <>
      <PageHeader title="Reconciliation">
        <p className="muted">Our payments beside the gateway&rsquo;s records of the same period.</p>
      </PageHeader>
      {can('write:payments') && (
        <form className="card form" onSubmit={onSubmit} noValidate aria-label="Compare with a gateway">
          <div className="filters">
            <CardGatewaySelect value={gateway} onChange={setGateway} />
            <SelectField
              label="Period"
              value={period}
              onChange={(event) => setPeriod(event.target.value as Period)}
            >
              {Object.entries(PERIODS).map(([value, option]) => (
                <option key={value} value={value}>
                  {option.label}
                </option>
              ))}
            </SelectField>
          </div>
          {run.isError && <ComparisonError error={run.error} gateway={run.variables} />}
          <div className="actions">
            <Button type="submit" busy={run.isPending}>
              Compare with the gateway
            </Button>
          </div>
        </form>
      )}
      {run.data && (
        <section aria-labelledby="run-title">
          <h2 id="run-title">
            {gatewayName(run.data.gateway)}, {formatDateTime(run.data.from)} to {formatDateTime(run.data.to)}
          </h2>
          <ul className="reconciliation-counts" aria-label="Results">
            {RESULTS.map((result) => (
              <li key={result.value}>
                <strong>{run.data.counts[result.value]}</strong> {result.label.toLowerCase()}
              </li>
            ))}
          </ul>
          {run.data.rows.length > 0 && <ItemsTable caption="This comparison" rows={run.data.rows} />}
        </section>
      )}
      <section aria-labelledby="earlier-title">
        <h2 id="earlier-title">Earlier comparisons</h2>
        <div className="filters">
          <SelectField
            label="Show"
            value={shown}
            onChange={(event) => setParams(event.target.value ? { result: event.target.value } : {})}
          >
            <option value="">Every result</option>
            {RESULTS.map((result) => (
              <option key={result.value} value={result.value}>
                {resultLabel(result.value)}
              </option>
            ))}
          </SelectField>
        </div>
        {earlier.isPending ? (
          <Loading />
        ) : earlier.isError ? (
          <ErrorState error={earlier.error} retry={() => void earlier.refetch()} />
        ) : earlier.items.length === 0 ? (
          <EmptyState title="No comparisons here yet." />
        ) : (
          <>
            <ItemsTable caption="Earlier comparisons" rows={earlier.items} />
            <LoadMore {...earlier} />
          </>
        )}
      </section>
    </>
  );
}
