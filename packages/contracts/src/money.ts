import currencyCodes from 'currency-codes';

/**
 * ISO 4217 currencies and their exponents (minor-unit digits: JPY 0, EUR 2, KWD 3), from the ISO
 * table the `currency-codes` package maintains. The one source of exponents for the API and the web
 * app; not Intl, which follows CLDR and gives, say, HUF, IDR or COP 0 digits and IQD 0 instead of 3.
 */

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
