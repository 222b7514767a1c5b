import { describe, expect, it } from 'vitest';
import { currencyExponent, formatMoney, minorToInput, parseMoney } from './format';

// Currencies for which Intl (CLDR) and ISO 4217 disagree: Intl gives 0 decimals, ISO 2 (IQD 3).
const INTL_SAYS_ZERO = ['HUF', 'IDR', 'COP', 'PKR', 'LAK', 'MGA', 'ALL', 'SOS', 'YER', 'LBP', 'SYP', 'MMK'];

describe('money in the web app follows the ISO 4217 exponents, as the API does', () => {
  it('takes exponents from the ISO table, not from Intl', () => {
    expect(currencyExponent('USD')).toBe(2);
    expect(currencyExponent('JPY')).toBe(0);
    expect(currencyExponent('KWD')).toBe(3);
    expect(currencyExponent('IQD')).toBe(3);
    for (const code of [...INTL_SAYS_ZERO, 'KPW', 'AFN', 'IRR']) expect(currencyExponent(code)).toBe(2);
  });

  it('shows minor units in form fields by the ISO exponent', () => {
    expect(minorToInput(12345, 'HUF')).toBe('123.45');
    expect(minorToInput(12345, 'IQD')).toBe('12.345');
    expect(minorToInput(5, 'IQD')).toBe('0.005');
    expect(minorToInput(12345, 'JPY')).toBe('12345');
    expect(minorToInput(12345, 'USD')).toBe('123.45');
    expect(minorToInput(-5, 'USD')).toBe('-0.05');
  });

  it('parses typed amounts into minor units by the ISO exponent', () => {
    expect(parseMoney('123.45', 'HUF')).toBe(12345);
    expect(parseMoney('123', 'HUF')).toBe(12300);
    expect(parseMoney('12.345', 'IQD')).toBe(12345);
    expect(parseMoney('12,3', 'IQD')).toBe(12300);
    expect(parseMoney('12.3456', 'IQD')).toBeNull();
    expect(parseMoney('12345', 'JPY')).toBe(12345);
    expect(parseMoney('123.4', 'JPY')).toBeNull();
    expect(parseMoney('19.99', 'USD')).toBe(1999);
    expect(parseMoney('19.999', 'USD')).toBeNull();
  });

  it('round-trips form fields through minor units', () => {
    for (const code of [...INTL_SAYS_ZERO, 'IQD', 'JPY', 'USD', 'KWD']) {
      for (const minor of [0, 1, 99, 12345, 100_000_007]) {
        expect(parseMoney(minorToInput(minor, code), code)).toBe(minor);
      }
    }
  });

  it('displays amounts with exactly the ISO number of decimals', () => {
    expect(formatMoney(12345, 'HUF')).toMatch(/123\.45(?!\d)/);
    expect(formatMoney(12345, 'IQD')).toMatch(/12\.345(?!\d)/);
    expect(formatMoney(12345, 'JPY')).toMatch(/12,345(?![.\d])/);
    expect(formatMoney(12345, 'USD')).toBe('$123.45');
    expect(formatMoney(100, 'USD')).toBe('$1.00');
  });
});
