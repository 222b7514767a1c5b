import { currencyExponent } from '@tessera/contracts';

// The ISO 4217 table lives in @tessera/contracts, so that the API and the web app read exponents
// from the same source.
export { currencies, currencyExponent, isCurrency } from '@tessera/contracts';

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

/**
 * Minor units as a readable amount, with the currency's ISO 4217 exponent (JPY 0, HUF 2, KWD 3):
 * Intl's own digits follow CLDR, which gives HUF 0 and IQD 0.
 */
export function formatMoney(amount: number, currency: string): string {
  const digits = currencyExponent(currency);
  if (digits === null) return `${amount} ${currency} (minor units)`;
  const format = new Intl.NumberFormat('en', {
    style: 'currency',
    currency,
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  return format.format(amount / 10 ** digits);
}
