import type { Web } from '@tessera/contracts';
import { MAX_MINOR_UNITS, PRODUCT_TEXT_LIMITS } from '@tessera/contracts/limits';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import {
  Badge,
  Button,
  ErrorState,
  FormError,
  Loading,
  PageHeader,
  SelectField,
  TextArea,
  TextField,
} from '../components/ui';
import { api } from '../lib/api';
import { useCan } from '../lib/auth';
import { formatMoney, minorToInput, parseMoney, readMoney } from '../lib/format';
import { apiFieldErrors, rebaseEdits, requiredProblem, useFieldErrors, type FieldErrors } from '../lib/forms';
import { CURRENCIES } from '../lib/queries';
import { ApiError, isNotFound, isRecordId } from '../lib/problem';
import NotFound from './NotFound';

interface ProductForm {
  sku: string;
  name: string;
  description: string;
  price: string;
  currency: string;
}

function formOf(product: Web.Product | undefined): ProductForm {
  return product
    ? {
        sku: product.sku,
        name: product.name,
        description: product.description ?? '',
        price: minorToInput(product.price, product.currency),
        currency: product.currency,
      }
    : { sku: '', name: '', description: '', price: '', currency: 'USD' };
}

const FIELDS = ['sku', 'name', 'description', 'price', 'currency'];

const FIELD_NAMES: Record<keyof ProductForm, string> = {
  sku: 'SKU',
  name: 'name',
  description: 'description',
  price: 'price',
  currency: 'currency',
};

type LimitedField = keyof typeof PRODUCT_TEXT_LIMITS;

function lengthProblem(field: LimitedField, value: string): string | undefined {
  // The API counts characters (code points), not UTF-16 units.
  const length = [...value.trim()].length;
  const max = PRODUCT_TEXT_LIMITS[field];
  return length > max
    ? `Use at most ${max.toLocaleString()} characters for the ${FIELD_NAMES[field]} (${length.toLocaleString()} now).`
    : undefined;
}

/** Said once a field is full: the input drops whatever is typed or pasted beyond its limit. */
function fullFieldHint(field: LimitedField, value: string): string | undefined {
  const max = PRODUCT_TEXT_LIMITS[field];
  return value.length >= max
    ? `That is the most a ${FIELD_NAMES[field]} can have: ${max.toLocaleString()} characters.`
    : undefined;
}

function priceProblem(price: string, currency: string): string | undefined {
  const reading = readMoney(price, currency);
  if ('minor' in reading) return undefined;
  return reading.problem === 'too_large'
    ? `Enter a price of at most ${formatMoney(MAX_MINOR_UNITS, currency)}.`
    : `Enter a price like ${minorToInput(1999, currency)}.`;
}

/** What the API would refuse in the form, in the form's words. */
function formProblems(values: ProductForm): FieldErrors {
  const problems = {
    sku: requiredProblem(values.sku, 'a SKU') ?? lengthProblem('sku', values.sku),
    name: requiredProblem(values.name, 'a name') ?? lengthProblem('name', values.name),
    description: lengthProblem('description', values.description),
    price: priceProblem(values.price, values.currency),
  };
  return Object.fromEntries(
    Object.entries(problems).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/**
 * The API's field errors, which speak its validator's language ("must NOT have more than 200
 * characters"), in the form's words: the form's own check of the field when it finds the problem
 * too (it may not, should the limits ever differ), else a plain reading of the API's message.
 */
function plainApiErrors(error: unknown, values: ProductForm): FieldErrors {
  const ours = formProblems(values);
  const plain: FieldErrors = {};
  for (const [field, message] of Object.entries(apiFieldErrors(error, FIELDS))) {
    const name = FIELD_NAMES[field as keyof ProductForm];
    const longest = /more than (\d+) characters/.exec(message)?.[1];
    plain[field] =
      ours[field] ??
      (longest
        ? `Use at most ${Number(longest).toLocaleString()} characters for the ${name}.`
        : /NUL character|surrogate/.test(message)
          ? `Remove the unusual characters pasted into the ${name}: they cannot be saved.`
          : `Check the ${name}: it was not accepted as it is.`);
  }
  // A SKU in use is told by its code, already in plain words.
  if (error instanceof ApiError && error.code === 'sku_taken') plain.sku = error.message;
  return plain;
}

function fieldList(names: (keyof ProductForm)[]): string {
  const words = names.map((name) => FIELD_NAMES[name]);
  return words.length > 1
    ? `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`
    : (words[0] ?? '');
}

/** What changed elsewhere while the form held edits. */
interface ChangedElsewhere {
  updated: (keyof ProductForm)[];
  conflicts: (keyof ProductForm)[];
}

function union<T>(a: T[], b: T[]): T[] {
  return [...new Set([...a, ...b])];
}

function changedElsewhereText({ updated, conflicts }: ChangedElsewhere): string {
  const taken = updated.filter((name) => !conflicts.includes(name));
  return [
    'This product was changed elsewhere while you were editing it.',
    taken.length > 0 ? `The form now shows the new ${fieldList(taken)}.` : '',
    conflicts.length > 0
      ? `Your ${fieldList(conflicts)} ${conflicts.length > 1 ? 'are' : 'is'} kept as you typed: saving replaces the other change.`
      : '',
  ]
    .filter(Boolean)
    .join(' ');
}

function ProductFormView({ product }: { product?: Web.Product }) {
  const can = useCan();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const editable = can('write:products');
  const [values, setValues] = useState<ProductForm>(() => formOf(product));
  // The version of the product the edits began from, and when it was last updated: a newer one
  // (a refetch, a live update, Archive or Restore) is merged into the form, never put over it.
  const [base, setBase] = useState<ProductForm>(() => formOf(product));
  const [seen, setSeen] = useState(product?.updated_at);
  const [elsewhere, setElsewhere] = useState<ChangedElsewhere | null>(null);
  if (product && product.updated_at !== seen) {
    const newer = formOf(product);
    const rebased = rebaseEdits(base, values, newer);
    setSeen(product.updated_at);
    setBase(newer);
    setValues(rebased.values);
    if (rebased.dirty && (rebased.updated.length > 0 || rebased.conflicts.length > 0)) {
      setElsewhere({
        updated: union(elsewhere?.updated ?? [], rebased.updated),
        conflicts: union(elsewhere?.conflicts ?? [], rebased.conflicts),
      });
    }
  }
  // A new product starts in the currency the catalog is priced in (a shop sells in one, mostly),
  // until the user picks one.
  const [currencyPicked, setCurrencyPicked] = useState(false);
  const catalog = useQuery({
    queryKey: ['products', 'one'],
    queryFn: ({ signal }) => api<{ data: Web.Product[] }>('/commerce/products?limit=1', { signal }),
    enabled: !product,
  });
  const catalogCurrency = catalog.data?.data[0]?.currency;
  if (!product && !currencyPicked && catalogCurrency && values.currency !== catalogCurrency) {
    setValues((current) => ({ ...current, currency: catalogCurrency }));
  }
  const fields = useFieldErrors();
  const set = (name: keyof ProductForm) => (value: string) => {
    if (name === 'currency') setCurrencyPicked(true);
    setValues((current) => ({ ...current, [name]: value }));
    fields.clear(name);
  };

  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      product
        ? api<Web.Product>(`/commerce/products/${product.id}`, { method: 'PATCH', body })
        : api<Web.Product>('/commerce/products', { method: 'POST', body }),
    onSuccess: async (saved) => {
      // What was saved is the form's new starting point (before the query hands it back).
      setSeen(saved.updated_at);
      setBase(formOf(saved));
      setValues(formOf(saved));
      setElsewhere(null);
      queryClient.setQueryData(['product', saved.id], saved);
      await queryClient.invalidateQueries({ queryKey: ['products'] });
      // A new product is confirmed on the list it joins (see Products); an edit, on its form.
      void navigate(product ? `/products/${saved.id}` : '/products', {
        replace: Boolean(product),
        state: product ? undefined : { created: saved.name },
      });
    },
    onError: (error) => fields.check(plainApiErrors(error, values)),
  });
  const archive = useMutation({
    mutationFn: (active: boolean) =>
      api<Web.Product>(`/commerce/products/${product!.id}`, { method: 'PATCH', body: { active } }),
    // What the last save said is over once another action starts.
    onMutate: () => save.reset(),
    onSuccess: async (saved) => {
      queryClient.setQueryData(['product', saved.id], saved);
      await queryClient.invalidateQueries({ queryKey: ['products'] });
    },
  });

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    // What the last save or archive said is over: this attempt says its own.
    save.reset();
    archive.reset();
    const price = parseMoney(values.price, values.currency);
    if (!fields.check(formProblems(values)) || price === null) return;
    save.mutate({
      sku: values.sku.trim(),
      name: values.name.trim(),
      // Creating leaves an empty description out; editing clears it.
      ...(values.description.trim() || product ? { description: values.description.trim() || null } : {}),
      price,
      currency: values.currency,
    });
  };

  const title = product ? product.name : 'New product';
  return (
    <>
      <PageHeader
        title={title}
        actions={
          product &&
          editable && (
            <Button
              variant="secondary"
              busy={archive.isPending}
              onClick={() => archive.mutate(!product.active)}
            >
              {product.active ? 'Archive' : 'Restore'}
            </Button>
          )
        }
      >
        {product && <Badge value={product.active ? 'active' : 'archived'} />}
      </PageHeader>
      {archive.isError && <FormError error={archive.error} />}
      {archive.isSuccess && (
        <p role="status">{archive.data.active ? 'Product restored.' : 'Product archived.'}</p>
      )}
      {product && elsewhere && (
        <div className="alert alert-warning" role="status">
          <p>{changedElsewhereText(elsewhere)}</p>
          <div className="inline-actions">
            <Button
              variant="secondary"
              onClick={() => {
                setValues(formOf(product));
                setElsewhere(null);
                fields.check({});
              }}
            >
              Discard my edits
            </Button>
            <Button variant="ghost" onClick={() => setElsewhere(null)}>
              Keep my edits
            </Button>
          </div>
        </div>
      )}
      <form className="card form" onSubmit={onSubmit} noValidate>
        <fieldset disabled={!editable}>
          <legend className="visually-hidden">Product details</legend>
          <TextField
            label="Name"
            value={values.name}
            error={fields.errors.name}
            hint={fullFieldHint('name', values.name)}
            maxLength={PRODUCT_TEXT_LIMITS.name}
            onChange={(e) => set('name')(e.target.value)}
            required
          />
          <TextField
            label="SKU"
            value={values.sku}
            error={fields.errors.sku}
            hint={fullFieldHint('sku', values.sku)}
            maxLength={PRODUCT_TEXT_LIMITS.sku}
            onChange={(e) => set('sku')(e.target.value)}
            required
          />
          <div className="row">
            <TextField
              label="Price"
              inputMode="decimal"
              value={values.price}
              error={fields.errors.price}
              onChange={(e) => set('price')(e.target.value)}
              required
            />
            <SelectField
              label="Currency"
              value={values.currency}
              error={fields.errors.currency}
              onChange={(e) => set('currency')(e.target.value)}
            >
              {[...new Set([values.currency, ...CURRENCIES])].map((code) => (
                <option key={code}>{code}</option>
              ))}
            </SelectField>
          </div>
          <TextArea
            label="Description (optional)"
            rows={3}
            value={values.description}
            error={fields.errors.description}
            hint={fullFieldHint('description', values.description)}
            maxLength={PRODUCT_TEXT_LIMITS.description}
            onChange={(e) => set('description')(e.target.value)}
          />
          {save.isError && Object.keys(fields.errors).length === 0 && <FormError error={save.error} />}
          {save.isSuccess && <p role="status">Product saved.</p>}
          {editable && (
            <div className="actions">
              <Button type="submit" busy={save.isPending}>
                {product ? 'Save changes' : 'Create product'}
              </Button>
              <Link to="/products" className="button button-ghost">
                Cancel
              </Link>
            </div>
          )}
        </fieldset>
      </form>
      {product && can('read:inventory') && (
        <p>
          <Link to={`/inventory/${product.id}`}>Stock and ledger for this product</Link>
        </p>
      )}
    </>
  );
}

export default function ProductEdit() {
  const { id } = useParams();
  const product = useQuery({
    queryKey: ['product', id],
    queryFn: ({ signal }) => api<Web.Product>(`/commerce/products/${id}`, { signal }),
    enabled: id !== undefined && isRecordId(id),
  });
  if (id === undefined) return <ProductFormView />;
  if (!isRecordId(id)) return <NotFound />;
  if (product.isPending) return <Loading />;
  if (product.isError) {
    return isNotFound(product.error) ? (
      <NotFound />
    ) : (
      <ErrorState error={product.error} retry={() => void product.refetch()} />
    );
  }
  // One form per product: a newer version of it is merged into the form (keeping what is typed).
  return <ProductFormView key={product.data.id} product={product.data} />;
}
