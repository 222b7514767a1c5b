import type { Web } from '@tessera/contracts';
import { MAX_LINE_QUANTITY } from '@tessera/contracts/limits';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type FormEvent } from 'react';
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
import { LoadMore } from '../components/LoadMore';
import { api } from '../lib/api';
import { useDebounced } from '../lib/debounce';
import { useIdempotencyKey } from '../lib/idempotency';
import { usePrefersReducedMotion } from '../lib/motion';
import { emailProblem, parseQuantity, quantityProblem, useFieldErrors, type FieldErrors } from '../lib/forms';
import { ApiError } from '../lib/problem';
import { usePagedList, useStockByProductId } from '../lib/queries';

/** What is in the order, by product id; the product is kept, since a new search may not list it. */
type Cart = Map<string, { product: Web.Product; quantity: number }>;

/** A line's field in the form's errors: where a refusal for lack of stock is shown. */
const lineField = (productId: string) => `line:${productId}`;

function onlyAvailable(available: number): string {
  return available > 0 ? `Only ${available} available.` : 'None available.';
}

/** The short lines of a 409 insufficient_stock (its `lines` extension), as errors on those lines. */
function shortLineErrors(error: unknown): FieldErrors {
  if (!(error instanceof ApiError) || error.code !== 'insufficient_stock') return {};
  const lines = Array.isArray(error.problem.lines) ? (error.problem.lines as unknown[]) : [];
  return Object.fromEntries(
    lines.flatMap((line) =>
      typeof line === 'object' &&
      line !== null &&
      'product_id' in line &&
      typeof line.product_id === 'string' &&
      'available' in line &&
      typeof line.available === 'number'
        ? [[lineField(line.product_id), onlyAvailable(line.available)]]
        : [],
    ),
  );
}

/** Point of sale: pick products, set quantities, see the total, place the order. */
export default function NewOrder() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [search, setSearch] = useState('');
  const [cart, setCart] = useState<Cart>(new Map());
  // What is typed in a quantity field, by product id, until it is a quantity: an empty or wrong
  // field keeps its line (at its last quantity) and holds the order back, it never removes it.
  const [drafts, setDrafts] = useState<Map<string, string>>(new Map());
  const [email, setEmail] = useState('');
  const [note, setNote] = useState('');
  const idempotency = useIdempotencyKey();
  const fields = useFieldErrors();
  const cartTitle = useRef<HTMLHeadingElement>(null);
  const reduceMotion = usePrefersReducedMotion();

  // The catalog is searched by the API, a page at a time: a shop may have more products than a
  // page holds, and every one of them can be sold.
  const query = useDebounced(search.trim());
  const products = usePagedList<Web.Product>(['products', 'pos'], '/commerce/products', {
    active: true,
    q: query || undefined,
  });
  // The stock of the products listed, and of those in the order: a line is checked against it.
  const stock = useStockByProductId([
    ...new Set([...products.items.map((product) => product.id), ...cart.keys()]),
  ]);

  // A product the current search lists is taken from it: a live update may have changed its price.
  const listed = new Map(products.items.map((product) => [product.id, product]));
  const lines = [...cart.values()].map(({ product: kept, quantity }) => {
    const product = listed.get(kept.id) ?? kept;
    return { product, quantity, total: product.price * quantity };
  });
  const currencies = new Set(lines.map((line) => line.product.currency));
  // None until a product is picked: a business has no currency of its own, its products do.
  const currency = lines[0]?.product.currency;
  const total = lines.reduce((sum, line) => sum + line.total, 0);
  const items = lines.reduce((sum, line) => sum + line.quantity, 0);
  const mixed = currencies.size > 1;
  const draftProblem = (productId: string) => {
    const draft = drafts.get(productId);
    return draft === undefined ? undefined : quantityProblem(draft);
  };
  const unfinished = lines.some((line) => draftProblem(line.product.id) !== undefined);
  // The lines the API refused for lack of stock, until their quantity is changed.
  const refused = lines
    .filter((line) => fields.errors[lineField(line.product.id)])
    .map((line) => line.product.name);

  const setDraft = (productId: string, text: string | null) =>
    setDrafts((current) => {
      const next = new Map(current);
      if (text === null) next.delete(productId);
      else next.set(productId, text);
      return next;
    });

  /** The buttons' quantity: 0 removes the line (the "−" of a line of one). */
  const setQuantity = (product: Web.Product, quantity: number) => {
    setDraft(product.id, null);
    fields.clear(lineField(product.id));
    setCart((current) => {
      const next = new Map(current);
      if (quantity <= 0) next.delete(product.id);
      else next.set(product.id, { product, quantity });
      return next;
    });
  };

  /** Typing: the text is kept as typed, and the order follows it only when it is a quantity. */
  const typeQuantity = (product: Web.Product, text: string) => {
    setDraft(product.id, text);
    fields.clear(lineField(product.id));
    const quantity = parseQuantity(text);
    if (quantity !== null)
      setCart((current) => {
        const line = current.get(product.id);
        return line ? new Map(current).set(product.id, { ...line, quantity }) : current;
      });
  };

  /** Brings the order into view (on a phone it is below the products), its title focused. */
  const showOrder = () => {
    cartTitle.current?.scrollIntoView({ behavior: reduceMotion ? 'auto' : 'smooth', block: 'start' });
    cartTitle.current?.focus({ preventScroll: true });
  };

  const place = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      api<Web.Order>('/commerce/orders', { method: 'POST', idempotencyKey: idempotency.keyFor(body), body }),
    onSettled: (_order, error) => idempotency.settle(error),
    onSuccess: async (order) => {
      queryClient.setQueryData(['order', order.id], order);
      await queryClient.invalidateQueries({ queryKey: ['orders'] });
      void navigate(`/orders/${order.id}`, { replace: true });
    },
    onError: (error) => {
      const short = shortLineErrors(error);
      if (Object.keys(short).length === 0) {
        fields.fromApi(error, ['customer_email', 'note']);
        return;
      }
      fields.check(short);
      // The counts shown were behind: they are read again, and the lines checked against them.
      void queryClient.invalidateQueries({ queryKey: ['inventory'] });
    },
  });

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const problem = email.trim() ? emailProblem(email) : undefined;
    if (
      fields.check(problem ? { customer_email: problem } : {}) &&
      lines.length > 0 &&
      !mixed &&
      !unfinished
    ) {
      place.mutate({
        lines: lines.map((line) => ({ product_id: line.product.id, quantity: line.quantity })),
        ...(email.trim() ? { customer_email: email.trim() } : {}),
        ...(note.trim() ? { note: note.trim() } : {}),
      });
    }
  };

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
          ) : products.items.length === 0 ? (
            <EmptyState title={query ? 'No product matches.' : 'No active products to sell.'} />
          ) : (
            <ul className="product-grid">
              {products.items.map((product) => {
                const left = stock.data?.get(product.id)?.available;
                const inCart = cart.get(product.id)?.quantity ?? 0;
                return (
                  <li key={product.id}>
                    <button
                      type="button"
                      className="product-tile"
                      onClick={() => setQuantity(product, inCart + 1)}
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
          <LoadMore {...products} />
          {lines.length > 0 && (
            // Phones only (see the stylesheet): a tap on a product changes something in sight.
            <div className="pos-summary">
              <span>
                {items.toLocaleString()} {items === 1 ? 'item' : 'items'}
                {currency && !mixed && (
                  <>
                    {' · '}
                    <Money amount={total} currency={currency} />
                  </>
                )}
              </span>
              <Button variant="secondary" onClick={showOrder}>
                View order
              </Button>
            </div>
          )}
        </section>
        <form className="card pos-cart" onSubmit={onSubmit} noValidate aria-labelledby="cart-title">
          <h2 id="cart-title" ref={cartTitle} tabIndex={-1}>
            Order
          </h2>
          {lines.length === 0 ? (
            <p className="muted">Pick products to add them.</p>
          ) : (
            <ul className="cart-lines">
              {lines.map(({ product, quantity, total: lineTotal }) => {
                const problem = draftProblem(product.id);
                const available = stock.data?.get(product.id)?.available;
                // A wrong quantity holds the order back; a lack of stock is the API's to refuse
                // (the count shown may be behind), so it is told but the order may still be sent.
                const message =
                  problem ??
                  fields.errors[lineField(product.id)] ??
                  (available !== undefined && quantity > available ? onlyAvailable(available) : undefined);
                return (
                  <li key={product.id}>
                    <span className="product-name">{product.name}</span>
                    <span className="stepper">
                      <button
                        type="button"
                        className="icon-button"
                        aria-label={`One less ${product.name}`}
                        onClick={() => setQuantity(product, quantity - 1)}
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
                        min={1}
                        max={MAX_LINE_QUANTITY}
                        step={1}
                        value={drafts.get(product.id) ?? quantity}
                        aria-invalid={message ? true : undefined}
                        aria-describedby={message ? `qty-${product.id}-error` : undefined}
                        onChange={(e) => typeQuantity(product, e.target.value)}
                        // Once left, a valid field shows the quantity as the order has it ("007" → 7).
                        onBlur={() => {
                          if (!problem) setDraft(product.id, null);
                        }}
                      />
                      <button
                        type="button"
                        className="icon-button"
                        aria-label={`One more ${product.name}`}
                        onClick={() => setQuantity(product, quantity + 1)}
                      >
                        +
                      </button>
                    </span>
                    <Money amount={lineTotal} currency={product.currency} />
                    {message && (
                      <p className="field-error" id={`qty-${product.id}-error`}>
                        {message}
                      </p>
                    )}
                  </li>
                );
              })}
            </ul>
          )}
          {mixed && (
            <p className="alert alert-error" role="alert">
              An order is in one currency: remove the products priced in another.
            </p>
          )}
          <p className="total" aria-live="polite">
            {currency && !mixed && (
              <>
                <span>Total</span> <Money amount={total} currency={currency} />
              </>
            )}
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
          {refused.length > 0 && (
            <FormError
              error={
                new Error(
                  `Not enough stock for ${new Intl.ListFormat('en').format(refused)}, so nothing was ` +
                    'reserved. Lower the marked quantities, then place the order again.',
                )
              }
            />
          )}
          {place.isError &&
            Object.keys(fields.errors).length === 0 &&
            Object.keys(shortLineErrors(place.error)).length === 0 && <FormError error={place.error} />}
          <Button type="submit" busy={place.isPending} disabled={lines.length === 0 || mixed || unfinished}>
            Place order
          </Button>
        </form>
      </div>
    </>
  );
}
