import currencyCodes from 'currency-codes';
import { describe, expect, it } from 'vitest';
import { currencies, currencyExponent, isCurrency } from './money';

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

  it('gives the ISO exponent where Intl (CLDR) gives another', () => {
    const intlSaysZero = ['HUF', 'IDR', 'COP', 'PKR', 'LAK', 'MGA', 'ALL', 'SOS', 'YER', 'LBP', 'SYP', 'MMK'];
    for (const code of [...intlSaysZero, 'KPW', 'AFN', 'IRR']) expect(currencyExponent(code)).toBe(2);
    expect(currencyExponent('IQD')).toBe(3);
  });

  it('refuses unknown, lower-case and non-money codes', () => {
    for (const code of ['EURO', 'eur', 'ABC', '', 'XAU', 'XTS', 'XXX']) {
      expect(isCurrency(code)).toBe(false);
      expect(currencyExponent(code)).toBeNull();
    }
    expect(currencies()).toContain('XOF');
    expect(currencies()).not.toContain('XAU');
  });

  it('takes every priceable currency from the maintained table', () => {
    expect(currencies().length).toBeGreaterThan(150);
    for (const code of currencies()) expect(currencyExponent(code)).toBe(currencyCodes.code(code)?.digits);
  });
});
