import { code as currencyByCode } from 'currency-codes';

/** The number of minor-unit digits of an ISO 4217 currency (JPY 0, EUR 2, KWD 3). */
export function currencyExponent(currency: string): number {
  const found = currencyByCode(currency.toUpperCase());
  if (!found) throw new Error(`Unknown currency ${currency}`);
  return found.digits;
}

export function isKnownCurrency(currency: string): boolean {
  return /^[A-Z]{3}$/.test(currency) && currencyByCode(currency) !== undefined;
}

/** Integer minor units → the decimal string gateways such as PayPal expect ("12.34", "500" for JPY). */
export function toDecimalString(amount: number, currency: string): string {
  const exponent = currencyExponent(currency);
  if (exponent === 0) return String(amount);
  const sign = amount < 0 ? '-' : '';
  const digits = String(Math.abs(amount)).padStart(exponent + 1, '0');
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/** A gateway's decimal string → integer minor units, without going through floats. */
export function fromDecimalString(value: string, currency: string): number {
  const exponent = currencyExponent(currency);
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(value.trim());
  if (!match) throw new Error(`Not a decimal amount: ${value}`);
  const [, sign, whole, fraction = ''] = match;
  if (fraction.length > exponent && /[1-9]/.test(fraction.slice(exponent)))
    throw new Error(`${value} has more decimals than ${currency} allows`);
  const minor = Number(whole! + fraction.slice(0, exponent).padEnd(exponent, '0'));
  return sign ? -minor : minor;
}
