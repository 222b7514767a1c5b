import { describe, expect, it } from 'vitest';
import { MAX_LINE_QUANTITY } from '@tessera/contracts/limits';
import { apiFieldErrors, firstFieldShowing, parseQuantity, quantityProblem, rebaseEdits } from './forms';
import { ApiError } from './problem';

describe('a typed quantity counts only when it is a whole number of 1 or more', () => {
  it('takes whole numbers from 1 to the API limit', () => {
    expect(parseQuantity('1')).toBe(1);
    expect(parseQuantity(' 12 ')).toBe(12);
    expect(parseQuantity('007')).toBe(7);
    expect(parseQuantity(String(MAX_LINE_QUANTITY))).toBe(MAX_LINE_QUANTITY);
  });

  it('refuses an empty field rather than reading it as 0 (which would remove the line)', () => {
    expect(parseQuantity('')).toBeNull();
    expect(parseQuantity('  ')).toBeNull();
    expect(quantityProblem('')).toMatch(/Enter a quantity/);
  });

  it('refuses zero, signs, fractions, exponents and too much', () => {
    for (const text of [
      '0',
      '00',
      '-1',
      '+1',
      '1.5',
      '1,5',
      '1e3',
      'abc',
      String(MAX_LINE_QUANTITY + 1),
      '99999999999999999999',
    ])
      expect(parseQuantity(text), text).toBeNull();
    expect(quantityProblem('0')).toBe('Enter a whole number of 1 or more.');
    expect(quantityProblem(String(MAX_LINE_QUANTITY + 1))).toMatch(/at most/);
  });
});

describe('edits survive a newer version of what they edit', () => {
  const base = { name: 'Tea', sku: 'T-1', price: '3.00' };

  it('takes the newer version as it is when nothing was edited', () => {
    const rebased = rebaseEdits(base, base, { ...base, price: '3.50' });
    expect(rebased).toEqual({
      values: { ...base, price: '3.50' },
      dirty: false,
      updated: ['price'],
      conflicts: [],
    });
  });

  it('keeps the edits, and takes what changed elsewhere in the fields not edited', () => {
    const edited = { ...base, name: 'Green tea' };
    const rebased = rebaseEdits(base, edited, { ...base, price: '3.50' });
    expect(rebased.values).toEqual({ name: 'Green tea', sku: 'T-1', price: '3.50' });
    expect(rebased.dirty).toBe(true);
    expect(rebased.updated).toEqual(['price']);
    expect(rebased.conflicts).toEqual([]);
  });

  it('keeps an edit that differs from the newer value, and names it', () => {
    const edited = { ...base, name: 'Green tea', price: '4.00' };
    const rebased = rebaseEdits(base, edited, { ...base, name: 'Black tea', price: '4.00' });
    expect(rebased.values).toEqual(edited);
    expect(rebased.conflicts).toEqual(['name']);
    expect(rebased.updated).toEqual([]);
  });

  it('sees nothing to tell when only other things changed (archived, restored)', () => {
    const edited = { ...base, name: 'Green tea' };
    expect(rebaseEdits(base, edited, { ...base })).toEqual({
      values: edited,
      dirty: true,
      updated: [],
      conflicts: [],
    });
  });
});

describe('an API error’s field errors land on the form’s fields', () => {
  const refused = (code: string, errors: { path: string; message: string }[] = []) =>
    new ApiError(code === 'validation_failed' ? 400 : 409, { code, detail: `${code} detail`, errors });

  it('places errors by path, nested or prefixed, keeping the first per field', () => {
    const error = refused('validation_failed', [
      { path: 'body.email', message: 'is not an e-mail address' },
      { path: 'price', message: 'must be 0 or more' },
      { path: 'price', message: 'must be whole' },
      { path: 'lines.0.quantity', message: 'must be 1 or more' },
    ]);
    expect(apiFieldErrors(error, ['email', 'price', 'lines', 'note'])).toEqual({
      email: 'is not an e-mail address',
      price: 'must be 0 or more',
      lines: 'must be 1 or more',
    });
  });

  it('puts a code about one field on that field, before its errors[]', () => {
    const error = refused('sku_taken', [{ path: 'sku', message: 'is taken' }]);
    expect(apiFieldErrors(error, ['sku'], { sku_taken: 'sku' })).toEqual({ sku: 'sku_taken detail' });
  });

  it('finds nothing for fields the form does not show, or for what is not an API error', () => {
    expect(
      apiFieldErrors(refused('validation_failed', [{ path: 'tenant_id', message: 'x' }]), ['name']),
    ).toEqual({});
    expect(apiFieldErrors(new Error('offline'), ['name'])).toEqual({});
  });
});

describe('the field that takes focus when errors are shown', () => {
  /** Invalid fields in page order, each described by the ids given; `texts` is the page's text by id. */
  const page = (texts: Record<string, string>, ...describedBy: (string | null)[]) => ({
    fields: describedBy.map((ids, index) => ({
      index,
      getAttribute: (name: string) => (name === 'aria-describedby' ? ids : null),
    })),
    textOf: (id: string) => texts[id],
  });

  it('is the first in page order, not in the order the errors were found', () => {
    const { fields, textOf } = page(
      { 'business-error': 'Enter the name of your business.', 'name-error': 'Enter your name.' },
      'business-error',
      'name-error',
    );
    const found = ['Enter your name.', 'Enter the name of your business.'];
    expect(firstFieldShowing(fields, textOf, found)?.index).toBe(0);
  });

  it('reads every id of aria-describedby (a hint may come after the error)', () => {
    const { fields, textOf } = page(
      {
        'password-error': '  Use at least 12 characters (5 so far). ',
        'password-hint': '12 to 128 characters.',
      },
      'password-hint  password-error',
    );
    expect(firstFieldShowing(fields, textOf, ['Use at least 12 characters (5 so far).'])?.index).toBe(0);
  });

  it('passes over fields showing another form’s errors, or described by nothing', () => {
    const { fields, textOf } = page(
      { 'other-error': 'Enter an amount.', 'sku-error': 'Enter a SKU.' },
      'other-error',
      null,
      'sku-error',
    );
    expect(firstFieldShowing(fields, textOf, ['Enter a SKU.'])?.index).toBe(2);
    expect(firstFieldShowing(fields, textOf, ['Enter a name.'])).toBeUndefined();
  });
});
