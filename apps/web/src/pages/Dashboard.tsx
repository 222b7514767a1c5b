import type { Web } from '@tessera/contracts';
import { useQuery } from '@tanstack/react-query';
import { lazy, Suspense } from 'react';
import { Link, useSearchParams } from 'react-router';
import { DataTable, EmptyState, ErrorState, Loading, Money, PageHeader, SelectField } from '../components/ui';
import { api } from '../lib/api';
import { formatMoney, label, setTimeZone, startOfToday } from '../lib/format';
import { useProductsById } from '../lib/queries';

// recharts is big: it loads with the chart, after the numbers are on screen.
const SalesChart = lazy(() => import('../components/SalesChart'));

const currencyNames = new Intl.DisplayNames(undefined, { type: 'currency' });

/** "Euro (EUR)": the name a person knows, and the code the amounts are written with. */
function currencyName(code: string): string {
  const name = currencyNames.of(code);
  return name && name !== code ? `${name} (${code})` : code;
}

/** "A", "A and B", "A, B and C". */
function listOf(names: string[]): string {
  return names.length < 2 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

export default function Dashboard() {
  const [params, setParams] = useSearchParams();
  // The currency picked (in the address, so that a reload or a shared link keeps it); without one
  // the API picks the business's main currency.
  const picked = /^[A-Z]{3}$/.test(params.get('currency') ?? '') ? params.get('currency')! : null;
  const dashboard = useQuery({
    queryKey: ['dashboard', 'today', picked],
    queryFn: async ({ signal }) => {
      const answer = await api<Web.Dashboard>('/api/analytics/dashboard', {
        query: {
          from: startOfToday(),
          to: new Date().toISOString(),
          interval: 'hour',
          ...(picked ? { currency: picked } : {}),
        },
        signal,
      });
      setTimeZone(answer.time_zone);
      return answer;
    },
    // Live events refresh it; this only covers a socket that cannot connect at all.
    refetchInterval: 60_000,
  });
  const currency = dashboard.data?.currency ?? 'USD';

  return (
    <>
      <PageHeader title="Dashboard">
        <p className="muted">Today so far. Updates live as orders and payments come in.</p>
      </PageHeader>
      {dashboard.isPending ? (
        <Loading />
      ) : dashboard.isError ? (
        <ErrorState error={dashboard.error} retry={() => void dashboard.refetch()} />
      ) : (
        <>
          {dashboard.data.currency && (
            <CurrencyPicker
              shown={dashboard.data.currency}
              withSales={dashboard.data.currencies}
              onPick={(code) => setParams({ currency: code }, { replace: true })}
            />
          )}
          <DashboardView data={dashboard.data} currency={currency} />
        </>
      )}
    </>
  );
}

/**
 * Amounts are never added across currencies: the figures are in one currency at a time. When
 * today's sales are in more than one, or in another than the one shown, the merchant is told and
 * picks which to see.
 */
function CurrencyPicker({
  shown,
  withSales,
  onPick,
}: {
  shown: string;
  withSales: string[];
  onPick: (currency: string) => void;
}) {
  const choices = [...new Set([...withSales, shown])].sort();
  if (choices.length < 2) return null;
  const others = withSales.filter((code) => code !== shown).map(currencyName);
  const hint = withSales.includes(shown)
    ? `There are sales in ${listOf(others)} today too. Figures show one currency at a time.`
    : `No sales in ${currencyName(shown)} today. There are sales in ${listOf(others)}.`;
  return (
    <div className="filters">
      <SelectField
        label="Currency"
        hint={hint}
        value={shown}
        onChange={(event) => onPick(event.target.value)}
      >
        {choices.map((code) => (
          <option key={code} value={code}>
            {currencyName(code)}
          </option>
        ))}
      </SelectField>
    </div>
  );
}

function DashboardView({ data, currency }: { data: Web.Dashboard; currency: string }) {
  // Stock levels carry the SKU only; the name reads better, once the products have loaded.
  const products = useProductsById(data.low_stock.map((level) => level.product_id));
  return (
    <>
      <dl className="kpis" aria-label="Today" aria-describedby="kpis-note">
        <div>
          <dt>Revenue today</dt>
          <dd data-testid="revenue-today">
            <Money amount={data.revenue} currency={currency} />
          </dd>
        </div>
        <div>
          <dt>Orders placed</dt>
          <dd data-testid="orders-today">{data.orders}</dd>
        </div>
        <div>
          <dt>Average order value</dt>
          <dd data-testid="average-order">
            <Money amount={data.average_order_value} currency={currency} />
          </dd>
        </div>
        <div>
          <dt>Items sold</dt>
          <dd data-testid="items-sold">{data.items_sold}</dd>
        </div>
        <div>
          <dt>Refunded</dt>
          <dd>
            <Money amount={data.refunded} currency={currency} />
          </dd>
        </div>
      </dl>
      <p className="muted" id="kpis-note">
        Revenue is the money received today. Orders placed counts today&rsquo;s orders, paid or not, and
        leaves cancelled ones out, as does their average value. Items sold are in the orders paid today.
      </p>
      <section className="card" aria-labelledby="series-title">
        <h2 id="series-title">Revenue by hour</h2>
        {data.series.length === 0 ? (
          <EmptyState title="No sales yet today." />
        ) : (
          <Suspense fallback={<Loading label="Loading chart…" />}>
            <SalesChart series={data.series} currency={currency} />
          </Suspense>
        )}
      </section>
      <div className="grid-3">
        <section className="card" aria-labelledby="top-title">
          <h2 id="top-title">Top products</h2>
          {data.top_products.length === 0 ? (
            <EmptyState title="Nothing sold yet." />
          ) : (
            <DataTable
              caption="Top products"
              rows={data.top_products}
              rowKey={(row) => row.product_id}
              columns={[
                { header: 'Product', cell: (row) => row.name ?? 'Unnamed product' },
                { header: 'Sold', numeric: true, cell: (row) => row.quantity },
                { header: 'Revenue', numeric: true, cell: (row) => formatMoney(row.revenue, currency) },
              ]}
            />
          )}
        </section>
        <section className="card" aria-labelledby="mix-title">
          <h2 id="mix-title">Payment mix</h2>
          {data.payment_mix.length === 0 ? (
            <EmptyState title="No payments yet." />
          ) : (
            <DataTable
              caption="Payment mix"
              rows={data.payment_mix}
              rowKey={(row) => row.gateway}
              columns={[
                {
                  header: 'Method',
                  cell: (row) => (row.gateway === 'manual' ? 'Cash / manual' : label(row.gateway)),
                },
                { header: 'Payments', numeric: true, cell: (row) => row.count },
                { header: 'Amount', numeric: true, cell: (row) => formatMoney(row.amount, currency) },
              ]}
            />
          )}
        </section>
        <section className="card" aria-labelledby="low-title">
          <h2 id="low-title">Low stock</h2>
          {data.low_stock.length === 0 ? (
            <EmptyState title="Everything is stocked." />
          ) : (
            <ul className="plain-list">
              {data.low_stock.map((level) => (
                <li key={level.product_id} className="low-stock">
                  <Link to={`/inventory/${level.product_id}`}>
                    {products.data?.get(level.product_id)?.name ?? level.sku}
                  </Link>
                  : {level.available} available (low at {level.low_stock_threshold})
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </>
  );
}
