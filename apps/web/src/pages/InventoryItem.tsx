import type { Web } from '@tessera/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { LoadMore } from '../components/LoadMore';
import {
  Button,
  DataTable,
  EmptyState,
  ErrorState,
  FormError,
  Loading,
  PageHeader,
  SelectField,
  TextField,
} from '../components/ui';
import { api } from '../lib/api';
import { useIdempotencyKey } from '../lib/idempotency';
import { useCan } from '../lib/auth';
import { formatDateTime, label } from '../lib/format';
import { useFieldErrors, type FieldErrors } from '../lib/forms';
import { isNotFound, isRecordId } from '../lib/problem';
import { useActorName, usePagedList } from '../lib/queries';
import { isLow } from './Inventory';
import NotFound from './NotFound';

function signed(value: number): string {
  return value > 0 ? `+${value}` : String(value);
}

const REASONS = [
  'Delivery received',
  'Stock count correction',
  'Damaged',
  'Lost or stolen',
  'Returned by customer',
];

function AdjustForm({ productId }: { productId: string }) {
  const queryClient = useQueryClient();
  const [direction, setDirection] = useState<'add' | 'remove'>('add');
  const [quantity, setQuantity] = useState('');
  const [reason, setReason] = useState(REASONS[0]!);
  const [other, setOther] = useState('');
  const idempotency = useIdempotencyKey();
  const fields = useFieldErrors();
  const adjust = useMutation({
    mutationFn: (body: { delta: number; reason: string }) =>
      api<unknown>(`/commerce/inventory/${productId}/adjustments`, {
        method: 'POST',
        body,
        idempotencyKey: idempotency.keyFor(body),
      }),
    onSettled: (_answer, error) => idempotency.settle(error),
    onSuccess: async () => {
      setQuantity('');
      setOther('');
      await queryClient.invalidateQueries({ queryKey: ['stock', productId] });
      await queryClient.invalidateQueries({ queryKey: ['inventory'] });
    },
    onError: (error) => fields.fromApi(error, ['delta', 'reason'], { insufficient_stock: 'delta' }),
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    // "Stock updated." was about the last adjustment, not this one.
    adjust.reset();
    const amount = Number(quantity);
    const text = reason === 'other' ? other.trim() : reason;
    const found: FieldErrors = {};
    if (!Number.isInteger(amount) || amount <= 0) found.delta = 'Enter a whole number of units, at least 1.';
    if (!text) found.reason = 'Say why the stock changes.';
    if (fields.check(found)) adjust.mutate({ delta: direction === 'add' ? amount : -amount, reason: text });
  };
  return (
    <form className="card form" onSubmit={onSubmit} noValidate aria-labelledby="adjust-title">
      <h2 id="adjust-title">Adjust stock</h2>
      <div className="row">
        <SelectField
          label="Change"
          value={direction}
          onChange={(e) => setDirection(e.target.value as 'add' | 'remove')}
        >
          <option value="add">Add units</option>
          <option value="remove">Remove units</option>
        </SelectField>
        <TextField
          label="Quantity"
          type="number"
          inputMode="numeric"
          min={1}
          step={1}
          value={quantity}
          error={fields.errors.delta}
          onChange={(e) => {
            setQuantity(e.target.value);
            fields.clear('delta');
          }}
          required
        />
      </div>
      <SelectField
        label="Reason"
        value={reason}
        error={reason === 'other' ? undefined : fields.errors.reason}
        onChange={(e) => setReason(e.target.value)}
      >
        {REASONS.map((text) => (
          <option key={text}>{text}</option>
        ))}
        <option value="other">Other…</option>
      </SelectField>
      {reason === 'other' && (
        <TextField
          label="Other reason"
          value={other}
          error={fields.errors.reason}
          onChange={(e) => setOther(e.target.value)}
          required
        />
      )}
      {adjust.isError && Object.keys(fields.errors).length === 0 && <FormError error={adjust.error} />}
      {adjust.isSuccess && <p role="status">Stock updated.</p>}
      <Button type="submit" busy={adjust.isPending}>
        Record adjustment
      </Button>
    </form>
  );
}

function ThresholdForm({ level }: { level: Web.StockLevel }) {
  const queryClient = useQueryClient();
  const [value, setValue] = useState(String(level.low_stock_threshold));
  const fields = useFieldErrors();
  const save = useMutation({
    mutationFn: (threshold: number) =>
      api<Web.StockLevel>(`/commerce/inventory/${level.product_id}`, {
        method: 'PUT',
        body: { low_stock_threshold: threshold },
      }),
    onSuccess: async (saved) => {
      queryClient.setQueryData(['stock', level.product_id], saved);
      await queryClient.invalidateQueries({ queryKey: ['inventory'] });
    },
    onError: (error) => fields.fromApi(error, ['low_stock_threshold']),
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    save.reset();
    const threshold = Number(value);
    if (
      fields.check(
        Number.isInteger(threshold) && threshold >= 0
          ? {}
          : { low_stock_threshold: 'Enter a whole number, 0 or more.' },
      )
    ) {
      save.mutate(threshold);
    }
  };
  return (
    <form className="card form" onSubmit={onSubmit} noValidate aria-labelledby="threshold-title">
      <h2 id="threshold-title">Low-stock level</h2>
      <TextField
        label="Warn when available stock is at or below"
        type="number"
        inputMode="numeric"
        min={0}
        value={value}
        error={fields.errors.low_stock_threshold}
        onChange={(e) => setValue(e.target.value)}
      />
      {save.isError && !fields.errors.low_stock_threshold && <FormError error={save.error} />}
      {save.isSuccess && <p role="status">Saved.</p>}
      <Button type="submit" variant="secondary" busy={save.isPending}>
        Save level
      </Button>
    </form>
  );
}

export default function InventoryItem() {
  const { productId = '' } = useParams();
  return isRecordId(productId) ? <StockPage productId={productId} /> : <NotFound />;
}

function StockPage({ productId }: { productId: string }) {
  const can = useCan();
  const level = useQuery({
    queryKey: ['stock', productId],
    queryFn: ({ signal }) => api<Web.StockLevel>(`/commerce/inventory/${productId}`, { signal }),
  });
  const product = useQuery({
    queryKey: ['product', productId],
    queryFn: ({ signal }) => api<Web.Product>(`/commerce/products/${productId}`, { signal }),
  });
  const ledger = usePagedList<Web.StockAdjustment>(
    ['stock', productId, 'ledger'],
    `/commerce/inventory/${productId}/adjustments`,
  );
  const actorName = useActorName();

  if (level.isPending) return <Loading />;
  if (level.isError) {
    return isNotFound(level.error) ? (
      <NotFound />
    ) : (
      <ErrorState error={level.error} retry={() => void level.refetch()} />
    );
  }
  const stock = level.data;
  return (
    <>
      <PageHeader title={`Stock: ${product.data?.name ?? stock.sku}`}>
        <p className="muted">
          SKU <code>{stock.sku}</code> · <Link to={`/products/${productId}`}>Product details</Link>
        </p>
      </PageHeader>
      <dl className="stats">
        <div>
          <dt>On hand</dt>
          <dd>{stock.on_hand}</dd>
        </div>
        <div>
          <dt>Reserved</dt>
          <dd>{stock.reserved}</dd>
        </div>
        <div>
          <dt>Available</dt>
          <dd className={isLow(stock) ? 'low-figure' : undefined}>
            {stock.available}
            {isLow(stock) && <span className="badge badge-low">Low</span>}
          </dd>
        </div>
        <div>
          <dt>Low at</dt>
          <dd>{stock.low_stock_threshold}</dd>
        </div>
      </dl>
      {can('write:inventory') && (
        <div className="grid-2">
          <AdjustForm productId={productId} />
          <ThresholdForm level={stock} />
        </div>
      )}
      <section aria-labelledby="ledger-title">
        <h2 id="ledger-title">Ledger</h2>
        {ledger.isPending ? (
          <Loading />
        ) : ledger.isError ? (
          <ErrorState error={ledger.error} />
        ) : ledger.items.length === 0 ? (
          <EmptyState title="No adjustments recorded yet." />
        ) : (
          <>
            <DataTable
              caption="Stock adjustments"
              rows={ledger.items}
              rowKey={(entry) => entry.id}
              columns={[
                { header: 'When', cell: (entry) => formatDateTime(entry.created_at) },
                { header: 'What', cell: (entry) => label(entry.kind) },
                { header: 'On hand', numeric: true, cell: (entry) => signed(entry.delta_on_hand) },
                { header: 'Reserved', numeric: true, cell: (entry) => signed(entry.delta_reserved) },
                {
                  header: 'Reason',
                  cell: (entry) =>
                    entry.order_id ? (
                      <Link to={`/orders/${entry.order_id}`}>{entry.reason ?? 'Order'}</Link>
                    ) : (
                      (entry.reason ?? '—')
                    ),
                },
                { header: 'On hand after', numeric: true, cell: (entry) => entry.on_hand_after },
                { header: 'By', cell: (entry) => actorName(entry.actor) },
              ]}
            />
            <LoadMore {...ledger} />
          </>
        )}
      </section>
    </>
  );
}
