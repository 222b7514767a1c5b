import currencyCodes from 'currency-codes';

/**
 * ISO 4217 codes that name no money one can price goods in: precious metals, bond-market units,
 * SDRs, the testing and "no currency" codes. ISO lists their minor unit as "N.A."; the table gives 0.
 */
const NOT_MONEY = new Set([
  'XAG',
  'XAU',
  'XBA',
  'XBB',
  'XBC',
  'XBD',
  'XDR',
  'XPD',
  'XPT',
  'XSU',
  'XTS',
  'XUA',
  'XXX',
]);

const EXPONENTS: ReadonlyMap<string, number> = new Map(
  currencyCodes.data.filter((entry) => !NOT_MONEY.has(entry.code)).map((entry) => [entry.code, entry.digits]),
);

/** Whether `code` is an ISO 4217 currency (upper case, as the API writes them) one can price in. */
export function isCurrency(code: string): boolean {
  return EXPONENTS.has(code);
}

/** The number of minor-unit digits of a currency (JPY 0, EUR 2, KWD 3), or null for an unknown code. */
export function currencyExponent(code: string): number | null {
  return EXPONENTS.get(code) ?? null;
}

/** Every priceable currency code, sorted. */
export function currencies(): string[] {
  return [...EXPONENTS.keys()].sort();
}

/** Integer minor units as a decimal string in major units, exact (no floating point): 1999 EUR → "19.99". */
export function formatMinorUnits(amount: number, currency: string): string {
  const exponent = currencyExponent(currency);
  if (exponent === null) throw new RangeError(`Unknown currency ${currency}`);
  if (!Number.isSafeInteger(amount)) throw new RangeError(`Amount ${amount} is not an integer`);
  const digits = Math.abs(amount)
    .toString()
    .padStart(exponent + 1, '0');
  const sign = amount < 0 ? '-' : '';
  if (exponent === 0) return sign + digits;
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/** The largest amount the API accepts in minor units: exact in JSON numbers and in bigint columns. */
export const MAX_MINOR_UNITS = Number.MAX_SAFE_INTEGER;
