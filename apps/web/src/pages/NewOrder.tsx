import type { Web } from '@tessera/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import {
  Button,
  EmptyState,
  ErrorState,
  FormError,
  Loading,
  Money,
  PageHeader,
  TextArea,
  TextField,
} from '../components/ui';
import { api } from '../lib/api';
import { useIdempotencyKey } from '../lib/idempotency';
import { emailProblem, useFieldErrors } from '../lib/forms';
import { ApiError } from '../lib/problem';

type Cart = Map<string, number>;

/** Point of sale: pick products, set quantities, see the total, place the order. */
export default function NewOrder() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [search, setSearch] = useState('');
  const [cart, setCart] = useState<Cart>(new Map());
  const [email, setEmail] = useState('');
  const [note, setNote] = useState('');
  const idempotency = useIdempotencyKey();
  const fields = useFieldErrors();

  const products = useQuery({
    queryKey: ['products', 'pos'],
    queryFn: ({ signal }) =>
      api<Web.Page<Web.Product>>('/commerce/products', { query: { active: true, limit: 200 }, signal }),
  });
  const stock = useQuery({
    queryKey: ['inventory', 'pos'],
    queryFn: ({ signal }) =>
      api<Web.Page<Web.StockLevel>>('/commerce/inventory', { query: { limit: 200 }, signal }),
    retry: false,
  });
  const available = useMemo(
    () => new Map(stock.data?.data.map((level) => [level.product_id, level.available])),
    [stock.data],
  );
  const byId = useMemo(
    () => new Map(products.data?.data.map((product) => [product.id, product])),
    [products.data],
  );

  const lines = [...cart.entries()].flatMap(([id, quantity]) => {
    const product = byId.get(id);
    return product ? [{ product, quantity, total: product.price * quantity }] : [];
  });
  const currencies = new Set(lines.map((line) => line.product.currency));
  const currency = lines[0]?.product.currency ?? 'USD';
  const total = lines.reduce((sum, line) => sum + line.total, 0);
  const mixed = currencies.size > 1;

  const setQuantity = (id: string, quantity: number) =>
    setCart((current) => {
      const next = new Map(current);
      if (quantity <= 0) next.delete(id);
      else next.set(id, quantity);
      return next;
    });

  const place = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      api<Web.Order>('/commerce/orders', { method: 'POST', idempotencyKey: idempotency.keyFor(body), body }),
    onSettled: (_order, error) => idempotency.settle(error),
    onSuccess: async (order) => {
      queryClient.setQueryData(['order', order.id], order);
      await queryClient.invalidateQueries({ queryKey: ['orders'] });
      void navigate(`/orders/${order.id}`, { replace: true });
    },
    onError: (error) => fields.fromApi(error, ['customer_email', 'note']),
  });

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const problem = email.trim() ? emailProblem(email) : undefined;
    if (fields.check(problem ? { customer_email: problem } : {}) && lines.length > 0 && !mixed) {
      place.mutate({
        lines: lines.map((line) => ({ product_id: line.product.id, quantity: line.quantity })),
        ...(email.trim() ? { customer_email: email.trim() } : {}),
        ...(note.trim() ? { note: note.trim() } : {}),
      });
    }
  };

  const query = search.trim().toLowerCase();
  const shown = (products.data?.data ?? []).filter(
    (product) =>
      !query || product.name.toLowerCase().includes(query) || product.sku.toLowerCase().includes(query),
  );

  return (
    <>
      <PageHeader title="New order" />
      <div className="pos">
        <section aria-labelledby="catalog-title" className="pos-catalog">
          <h2 id="catalog-title">Products</h2>
          <TextField
            label="Find a product"
            type="search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
          {products.isPending ? (
            <Loading />
          ) : products.isError ? (
            <ErrorState error={products.error} retry={() => void products.refetch()} />
          ) : shown.length === 0 ? (
            <EmptyState title={query ? 'No product matches.' : 'No active products to sell.'} />
          ) : (
            <ul className="product-grid">
              {shown.map((product) => {
                const left = available.get(product.id);
                const inCart = cart.get(product.id) ?? 0;
                return (
                  <li key={product.id}>
                    <button
                      type="button"
                      className="product-tile"
                      onClick={() => setQuantity(product.id, inCart + 1)}
                      aria-label={`Add ${product.name}`}
                      disabled={left !== undefined && inCart >= left}
                    >
                      <span className="product-name">{product.name}</span>
                      <Money amount={product.price} currency={product.currency} />
                      <span className="muted">{left === undefined ? product.sku : `${left} available`}</span>
                    </button>
                  </li>
                );
              })}
            </ul>
          )}
        </section>
        <form className="card pos-cart" onSubmit={onSubmit} noValidate aria-labelledby="cart-title">
          <h2 id="cart-title">Order</h2>
          {lines.length === 0 ? (
            <p className="muted">Pick products to add them.</p>
          ) : (
            <ul className="cart-lines">
              {lines.map(({ product, quantity, total: lineTotal }) => (
                <li key={product.id}>
                  <span className="product-name">{product.name}</span>
                  <span className="stepper">
                    <button
                      type="button"
                      className="icon-button"
                      aria-label={`One less ${product.name}`}
                      onClick={() => setQuantity(product.id, quantity - 1)}
                    >
                      −
                    </button>
                    <label className="visually-hidden" htmlFor={`qty-${product.id}`}>
                      Quantity of {product.name}
                    </label>
                    <input
                      id={`qty-${product.id}`}
                      type="number"
                      inputMode="numeric"
                      min={0}
                      value={quantity}
                      onChange={(e) =>
                        setQuantity(product.id, Math.max(0, Math.floor(Number(e.target.value) || 0)))
                      }
                    />
                    <button
                      type="button"
                      className="icon-button"
                      aria-label={`One more ${product.name}`}
                      onClick={() => setQuantity(product.id, quantity + 1)}
                    >
                      +
                    </button>
                  </span>
                  <Money amount={lineTotal} currency={product.currency} />
                </li>
              ))}
            </ul>
          )}
          {mixed && (
            <p className="alert alert-error" role="alert">
              An order is in one currency: remove the products priced in another.
            </p>
          )}
          <p className="total" aria-live="polite">
            <span>Total</span> <Money amount={total} currency={currency} />
          </p>
          <TextField
            label="Customer e-mail (optional)"
            type="email"
            value={email}
            error={fields.errors.customer_email}
            onChange={(e) => {
              setEmail(e.target.value);
              fields.clear('customer_email');
            }}
          />
          <TextArea
            label="Note (optional)"
            rows={2}
            value={note}
            error={fields.errors.note}
            onChange={(e) => setNote(e.target.value)}
          />
          {place.isError && Object.keys(fields.errors).length === 0 && (
            <FormError
              error={
                place.error instanceof ApiError && place.error.code === 'insufficient_stock'
                  ? new Error(`Not enough stock: ${place.error.message}`)
                  : place.error
              }
            />
          )}
          <Button type="submit" busy={place.isPending} disabled={lines.length === 0 || mixed}>
            Place order
          </Button>
        </form>
      </div>
    </>
  );
}
