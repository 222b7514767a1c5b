import { describe, expect, it } from 'vitest';
import { MAX_LINE_QUANTITY } from '@tessera/contracts/limits';
import { parseQuantity, quantityProblem, rebaseEdits } from './forms';

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
