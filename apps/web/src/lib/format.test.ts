import { describe, expect, it } from 'vitest';
import {
  currencyExponent,
  formatMoney,
  localDate,
  minorToInput,
  nextDay,
  numberSymbols,
  parseMoney,
  readMoney,
  setTimeZone,
  startOfDay,
  startOfToday,
} from './format';

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
    expect(parseMoney('12,3', 'IQD', 'de-DE')).toBe(12300);
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

describe('parseMoney reads amounts by the locale, and refuses what it would have to guess', () => {
  it('learns the separators and group sizes from Intl', () => {
    expect(numberSymbols('en-US')).toEqual({ decimal: '.', group: ',', primary: 3, secondary: 3 });
    expect(numberSymbols('de-DE')).toMatchObject({ decimal: ',', group: '.' });
    expect(numberSymbols('en-IN')).toMatchObject({ decimal: '.', primary: 3, secondary: 2 });
  });

  it('reads the group separator as grouping, never as a decimal point', () => {
    expect(parseMoney('1,000', 'KWD', 'en-US')).toBe(1_000_000);
    expect(parseMoney('1,000', 'USD', 'en-US')).toBe(100_000);
    expect(parseMoney('1,234,567.89', 'USD', 'en-US')).toBe(123_456_789);
    expect(parseMoney('1,000', 'JPY', 'en-US')).toBe(1000);
    expect(parseMoney('1.000', 'KWD', 'de-DE')).toBe(1_000_000);
    expect(parseMoney('1.234.567,89', 'EUR', 'de-DE')).toBe(123_456_789);
    expect(parseMoney('1,00,000.50', 'INR', 'en-IN')).toBe(10_000_050);
  });

  it('reads the locale decimal sign as the decimal point', () => {
    expect(parseMoney('1.000', 'KWD', 'en-US')).toBe(1000);
    expect(parseMoney('1,000', 'KWD', 'de-DE')).toBe(1000);
    expect(parseMoney('19,99', 'EUR', 'fr-FR')).toBe(1999);
    expect(parseMoney('5.', 'USD', 'en-US')).toBe(500);
    expect(parseMoney(' 19.99 ', 'USD', 'en-US')).toBe(1999);
  });

  it('takes spaces and apostrophes as group separators, where groups go', () => {
    expect(parseMoney('1 000', 'USD', 'en-US')).toBe(100_000);
    expect(parseMoney('1\u202f000,50', 'EUR', 'fr-FR')).toBe(100_050);
    expect(parseMoney('1 000,50', 'EUR', 'fr-FR')).toBe(100_050);
    expect(parseMoney("1'000.50", 'CHF', 'de-CH')).toBe(100_050);
    expect(parseMoney('1\u2019000.50', 'CHF', 'de-CH')).toBe(100_050);
    expect(parseMoney('1 00', 'USD', 'en-US')).toBeNull();
  });

  it('takes the other of . and , as a decimal point only where it cannot be grouping', () => {
    expect(parseMoney('19.99', 'EUR', 'fr-FR')).toBe(1999);
    expect(parseMoney('1.5', 'EUR', 'fr-FR')).toBe(150);
    expect(parseMoney('12,50', 'CHF', 'de-CH')).toBe(1250);
    expect(parseMoney('1.000', 'KWD', 'fr-FR')).toBeNull();
    expect(parseMoney('1.000.000', 'EUR', 'fr-FR')).toBeNull();
  });

  it('refuses group separators out of place, rather than guess a decimal point', () => {
    for (const input of [
      '1,5',
      '12,3',
      '12,3456',
      '1,0000',
      '1234,567',
      ',5',
      '1,',
      '0,500',
      '01,000',
      '1,,000',
    ])
      expect(parseMoney(input, 'USD', 'en-US'), input).toBeNull();
    expect(parseMoney('100,000', 'INR', 'en-IN')).toBeNull();
    expect(parseMoney('1.5', 'EUR', 'de-DE')).toBeNull();
    expect(parseMoney('19.99', 'EUR', 'de-DE')).toBeNull();
    expect(parseMoney('1,000 000', 'USD', 'en-US')).toBeNull();
  });

  it('refuses what is not a plain positive amount', () => {
    for (const input of [
      '',
      ' ',
      '-5',
      '+5',
      '1e3',
      '1.2.3',
      '1,000.5.0',
      'abc',
      '12a',
      '$5',
      '0x10',
      'Infinity',
      '.5',
    ])
      expect(parseMoney(input, 'USD', 'en-US'), input).toBeNull();
    expect(parseMoney('1,000.5', 'JPY', 'en-US')).toBeNull();
  });

  it('stays within safe integers of minor units', () => {
    expect(parseMoney('90071992547409.91', 'USD', 'en-US')).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseMoney('90071992547409.92', 'USD', 'en-US')).toBeNull();
    expect(parseMoney('99999999999999999', 'USD', 'en-US')).toBeNull();
    expect(parseMoney('9007199254740991', 'JPY', 'en-US')).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseMoney('9007199254740992', 'JPY', 'en-US')).toBeNull();
    expect(parseMoney('0009007199254740991', 'JPY', 'en-US')).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseMoney('9,007,199,254,740.992', 'KWD', 'en-US')).toBeNull();
  });

  it('tells an amount too large from one written wrong, so a form can say which', () => {
    expect(readMoney('19.99', 'USD', 'en-US')).toEqual({ minor: 1999 });
    expect(readMoney('90071992547409.92', 'USD', 'en-US')).toEqual({ problem: 'too_large' });
    expect(readMoney('99,999,999,999,999,999', 'USD', 'en-US')).toEqual({ problem: 'too_large' });
    expect(readMoney('19.999', 'USD', 'en-US')).toEqual({ problem: 'not_an_amount' });
    expect(readMoney('abc', 'USD', 'en-US')).toEqual({ problem: 'not_an_amount' });
  });

  it('displays the largest amount exactly, where dividing by 100 would round', () => {
    expect(formatMoney(Number.MAX_SAFE_INTEGER, 'USD')).toBe('$90,071,992,547,409.91');
    expect(formatMoney(-5, 'USD')).toBe('-$0.05');
  });

  it('round-trips form fields in every locale', () => {
    for (const locale of ['en-US', 'de-DE', 'fr-FR', 'de-CH', 'en-IN', 'ar-EG']) {
      expect(minorToInput(1999, 'USD', locale)).toBe(
        locale === 'de-DE' || locale === 'fr-FR' ? '19,99' : '19.99',
      );
      for (const code of ['KWD', 'JPY', 'USD'])
        for (const minor of [0, 1, 1000, 12345, 100_000_007])
          expect(parseMoney(minorToInput(minor, code, locale), code, locale)).toBe(minor);
    }
  });
});

describe("days in the business's time zone", () => {
  it('start at its midnight, on the days clocks change too', () => {
    try {
      setTimeZone('America/New_York');
      expect(startOfDay('2026-03-07')).toBe('2026-03-07T05:00:00.000Z');
      // Clocks go forward at 2:00 on 8 March: that day starts in winter time, the next in summer time.
      expect(startOfDay('2026-03-08')).toBe('2026-03-08T05:00:00.000Z');
      expect(startOfDay('2026-03-09')).toBe('2026-03-09T04:00:00.000Z');
      expect(startOfDay('2026-11-01')).toBe('2026-11-01T04:00:00.000Z');
      expect(startOfDay('2026-11-02')).toBe('2026-11-02T05:00:00.000Z');
      // Late evening there is already the next day in UTC.
      const evening = new Date('2026-11-28T03:30:00Z');
      expect(localDate(evening)).toBe('2026-11-27');
      expect(startOfToday(evening)).toBe('2026-11-27T05:00:00.000Z');
      setTimeZone('Asia/Kathmandu');
      expect(startOfDay('2026-11-27')).toBe('2026-11-26T18:15:00.000Z');
      expect(nextDay('2026-12-31')).toBe('2027-01-01');
    } finally {
      setTimeZone(null);
    }
  });
});
