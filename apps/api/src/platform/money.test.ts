import { describe, expect, it } from 'vitest';
import { currencies, currencyExponent, formatMinorUnits, isCurrency } from './money';

describe('ISO 4217 currencies', () => {
  it('knows currencies and their exponents from the ISO table', () => {
    expect(isCurrency('EUR')).toBe(true);
    expect(currencyExponent('EUR')).toBe(2);
    expect(currencyExponent('USD')).toBe(2);
    expect(currencyExponent('JPY')).toBe(0);
    expect(currencyExponent('KWD')).toBe(3);
    expect(currencyExponent('BHD')).toBe(3);
    expect(currencyExponent('CLF')).toBe(4);
  });

  it('refuses unknown, lower-case and non-money codes', () => {
    for (const code of ['EURO', 'eur', 'ABC', '', 'XAU', 'XTS', 'XXX']) {
      expect(isCurrency(code)).toBe(false);
      expect(currencyExponent(code)).toBeNull();
    }
    expect(currencies()).toContain('XOF');
    expect(currencies()).not.toContain('XAU');
  });

  it('formats minor units exactly, per exponent', () => {
    expect(formatMinorUnits(1999, 'EUR')).toBe('19.99');
    expect(formatMinorUnits(5, 'EUR')).toBe('0.05');
    expect(formatMinorUnits(-5, 'USD')).toBe('-0.05');
    expect(formatMinorUnits(1999, 'JPY')).toBe('1999');
    expect(formatMinorUnits(1, 'KWD')).toBe('0.001');
    expect(formatMinorUnits(9_007_199_254_740_991, 'EUR')).toBe('90071992547409.91');
    expect(() => formatMinorUnits(1.5, 'EUR')).toThrow(RangeError);
    expect(() => formatMinorUnits(1, 'ZZZ')).toThrow(RangeError);
  });
});
