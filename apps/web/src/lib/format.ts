// The subpath, not the package root: the root would bring every TypeBox schema into this eagerly
// loaded module.
import { currencyExponent as isoExponent } from '@tessera/contracts/money';

/**
 * Money and dates as a person reads them. Amounts are integer minor units of their ISO 4217
 * currency; the currency's exponent (JPY 0, USD 2, KWD 3) comes from the ISO table the API uses
 * (@tessera/contracts), not from Intl: Intl follows CLDR, which gives HUF, IDR, COP... 0 decimals
 * instead of 2, and IQD 0 instead of 3. Intl only draws the amount (symbol, grouping, sign).
 */
const locale = typeof navigator !== 'undefined' ? navigator.language : 'en-US';
const formatters = new Map<string, Intl.NumberFormat>();

function currencyFormat(currency: string): Intl.NumberFormat {
  let format = formatters.get(currency);
  if (!format) {
    const digits = currencyExponent(currency);
    format = new Intl.NumberFormat(locale, {
      style: 'currency',
      currency,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    formatters.set(currency, format);
  }
  return format;
}

/**
 * The ISO 4217 exponent of a currency. The API prices only in ISO currencies; for any other code
 * (which it never sends) this guesses 2, Intl's own default, rather than break the page.
 */
export function currencyExponent(currency: string): number {
  return isoExponent(currency.toUpperCase()) ?? 2;
}

export function formatMoney(minor: number, currency: string): string {
  try {
    return currencyFormat(currency).format(minor / 10 ** currencyExponent(currency));
  } catch {
    return `${minorToInput(minor, currency)} ${currency}`;
  }
}

/** Minor units as the plain decimal a person types ("19.99"), for form fields. */
export function minorToInput(minor: number, currency: string): string {
  const exponent = currencyExponent(currency);
  const sign = minor < 0 ? '-' : '';
  const digits = String(Math.abs(minor)).padStart(exponent + 1, '0');
  return exponent === 0 ? sign + digits : `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/**
 * Parses a typed amount ("19.99", "19,99", "1 000") into minor units without floating point.
 * Null when it is not a number or has more decimals than the currency allows.
 */
export function parseMoney(input: string, currency: string): number | null {
  const exponent = currencyExponent(currency);
  const cleaned = input
    .trim()
    .replace(/[\s\u00a0']/g, '')
    .replace(',', '.');
  const match = /^(\d+)(?:\.(\d*))?$/.exec(cleaned);
  if (!match) return null;
  const whole = match[1] ?? '0';
  const fraction = match[2] ?? '';
  if (fraction.length > exponent) return null;
  return Number(whole) * 10 ** exponent + Number(fraction.padEnd(exponent, '0') || '0');
}

let timeZone: string | undefined;

/** The tenant's time zone, in which every date is shown (the browser's until it is known). */
export function setTimeZone(zone: string | null | undefined): void {
  try {
    if (zone) new Intl.DateTimeFormat(locale, { timeZone: zone });
    timeZone = zone ?? undefined;
  } catch {
    timeZone = undefined;
  }
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(date);
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', timeZone }).format(date);
}

/** Start of today in the tenant's time zone, as an ISO instant. */
export function startOfToday(now = new Date()): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now);
  const get = (type: string) => Number(parts.find((part) => part.type === type)?.value ?? 0);
  const wallNow = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  const offset = wallNow - Math.floor(now.getTime() / 1000) * 1000;
  const wallMidnight = Date.UTC(get('year'), get('month') - 1, get('day'));
  return new Date(wallMidnight - offset).toISOString();
}

export function label(value: string): string {
  const text = value.replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}
