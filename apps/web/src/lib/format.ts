// The subpath, not the package root: the root would bring every TypeBox schema into this eagerly
// loaded module.
import { MAX_MINOR_UNITS } from '@tessera/contracts/limits';
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
    // The amount as a decimal string, exact where a division would round (above 2^53 / 100).
    const decimal = minorToInput(minor, currency, 'en-US') as Intl.StringNumericLiteral;
    return currencyFormat(currency).format(decimal);
  } catch {
    return `${minorToInput(minor, currency)} ${currency}`;
  }
}

/**
 * How a locale writes numbers, in Latin digits (what a person types in a form field): its decimal
 * sign, its group sign, and its group sizes (3 and 3 for "1,234,567"; 3 and 2 for en-IN's
 * "12,34,567"). Learnt from Intl, not assumed.
 */
export interface NumberSymbols {
  decimal: string;
  group: string;
  /** Digits in the group next to the decimal sign. */
  primary: number;
  /** Digits in every group further left (only the leftmost may be shorter). */
  secondary: number;
}

const symbolsByLocale = new Map<string, NumberSymbols>();

export function numberSymbols(forLocale: string = locale): NumberSymbols {
  let symbols = symbolsByLocale.get(forLocale);
  if (!symbols) {
    let parts: Intl.NumberFormatPart[];
    try {
      parts = new Intl.NumberFormat(forLocale, { numberingSystem: 'latn' }).formatToParts(123456789.5);
    } catch {
      parts = new Intl.NumberFormat('en-US').formatToParts(123456789.5);
    }
    const sizes = parts.filter((part) => part.type === 'integer').map((part) => part.value.length);
    const primary = sizes.length > 1 ? sizes[sizes.length - 1]! : 3;
    symbols = {
      decimal: parts.find((part) => part.type === 'decimal')?.value ?? '.',
      group: parts.find((part) => part.type === 'group')?.value ?? '',
      primary,
      secondary: sizes.length > 2 ? sizes[sizes.length - 2]! : primary,
    };
    symbolsByLocale.set(forLocale, symbols);
  }
  return symbols;
}

/** Minor units as the plain decimal a person types ("19.99", "19,99" in de-DE), for form fields. */
export function minorToInput(minor: number, currency: string, forLocale: string = locale): string {
  const exponent = currencyExponent(currency);
  const sign = minor < 0 ? '-' : '';
  const digits = String(Math.abs(minor)).padStart(exponent + 1, '0');
  if (exponent === 0) return sign + digits;
  return `${sign}${digits.slice(0, -exponent)}${numberSymbols(forLocale).decimal}${digits.slice(-exponent)}`;
}

/** Spaces of any width, and apostrophes, group digits wherever they are typed; they are never a decimal sign. */
const SPACES = /^[\s\u00a0\u2007\u2009\u202f]$/;
const APOSTROPHES = /^['\u2019]$/;

/** One kind of group sign: every space is one kind, every apostrophe another. */
function groupKind(sign: string): string {
  if (SPACES.test(sign)) return ' ';
  if (APOSTROPHES.test(sign)) return "'";
  return sign;
}

/** The whole part's digits, when its group signs (if any) all sit where the locale puts them. */
function wholeDigits(text: string, symbols: NumberSymbols): string | null {
  if (/^\d+$/.test(text)) return text;
  const signs = new Set(text.replace(/\d/g, '').split('').map(groupKind));
  if (signs.size !== 1) return null;
  const [sign] = [...signs] as [string];
  if (sign !== groupKind(symbols.group) && sign !== ' ' && sign !== "'") return null;
  const groups = text.split(/\D/);
  const first = groups[0]!;
  const last = groups[groups.length - 1]!;
  const middle = groups.slice(1, -1);
  // The leftmost group has no leading zero: "0,500" is no thousands.
  if (!/^[1-9]\d*$/.test(first) || first.length > symbols.secondary) return null;
  if (last.length !== symbols.primary || middle.some((group) => group.length !== symbols.secondary))
    return null;
  return groups.join('');
}

const MAX_DIGITS = String(MAX_MINOR_UNITS);

/** A typed amount in minor units, or why it is none: not written as an amount, or too large. */
export type MoneyReading = { minor: number } | { problem: 'not_an_amount' | 'too_large' };

/**
 * Reads a typed amount into minor units without floating point.
 *
 * The rule, for the app's locale (navigator.language):
 * - the decimal sign is the locale's ("19.99" in en-US, "19,99" in de-DE);
 * - the locale's group sign, spaces and apostrophes may group the whole part, one kind per
 *   amount, only where the locale puts them ("1,000" and "1,000,000" in en-US, "1.000" in de-DE,
 *   "1,00,000" in en-IN); a group sign anywhere else makes the amount invalid, not a decimal sign
 *   ("1,5" and "12,3456" in en-US are not amounts);
 * - '.' or ',', when the locale uses it for neither, is a decimal sign too, unless the amount
 *   could also be read as grouped: "19.99" in fr-FR is 19.99, "1.000" there is not an amount;
 * - no sign, and no more decimals than the currency has;
 * - at most MAX_MINOR_UNITS minor units, else the amount is `too_large`.
 */
export function readMoney(input: string, currency: string, forLocale: string = locale): MoneyReading {
  const notAnAmount = { problem: 'not_an_amount' } as const;
  const exponent = currencyExponent(currency);
  const symbols = numberSymbols(forLocale);
  const text = input.trim();
  let at = text.indexOf(symbols.decimal);
  if (at !== text.lastIndexOf(symbols.decimal)) return notAnAmount;
  if (at < 0) {
    const others = ['.', ','].filter(
      (sign) => sign !== symbols.decimal && sign !== symbols.group && text.includes(sign),
    );
    if (others.length > 1) return notAnAmount;
    const [other] = others;
    if (other !== undefined) {
      at = text.indexOf(other);
      // Once only, and not before three digits, where it could be a thousands separator.
      if (text.lastIndexOf(other) !== at || text.length - at - 1 === 3) return notAnAmount;
    }
  }
  const whole = wholeDigits(at < 0 ? text : text.slice(0, at), symbols);
  const fraction = at < 0 ? '' : text.slice(at + 1);
  if (whole === null || !/^\d*$/.test(fraction) || fraction.length > exponent) return notAnAmount;
  const digits = (whole + fraction.padEnd(exponent, '0')).replace(/^0+(?=\d)/, '');
  if (digits.length > MAX_DIGITS.length || (digits.length === MAX_DIGITS.length && digits > MAX_DIGITS))
    return { problem: 'too_large' };
  return { minor: Number(digits) };
}

/** A typed amount in minor units (see readMoney); null when it is none. */
export function parseMoney(input: string, currency: string, forLocale: string = locale): number | null {
  const reading = readMoney(input, currency, forLocale);
  return 'minor' in reading ? reading.minor : null;
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

/** The tenant's wall clock at `at`, read as if it were UTC, in milliseconds. */
function wallClock(at: Date): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((part) => part.type === type)?.value ?? 0);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
}

/** The date the business is at, in its time zone: `YYYY-MM-DD`. */
export function localDate(now = new Date()): string {
  return new Date(wallClock(now)).toISOString().slice(0, 10);
}

/** The day after `day` (`YYYY-MM-DD`). */
export function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/**
 * The midnight that starts `day` (`YYYY-MM-DD`) in the tenant's time zone, as an ISO instant. The
 * offset is read at a first guess, then at the corrected one: right on days the clocks change.
 */
export function startOfDay(day: string): string {
  const wall = Date.parse(`${day}T00:00:00Z`);
  const seconds = (at: number) => Math.floor(at / 1000) * 1000;
  let instant = wall - (wallClock(new Date(wall)) - wall);
  instant = wall - (wallClock(new Date(instant)) - seconds(instant));
  return new Date(instant).toISOString();
}

/** Start of today in the tenant's time zone, as an ISO instant. */
export function startOfToday(now = new Date()): string {
  return startOfDay(localDate(now));
}

export function label(value: string): string {
  const text = value.replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}
