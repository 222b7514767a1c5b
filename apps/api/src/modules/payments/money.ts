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

/**
 * A gateway's own units of a currency, where they are not ISO 4217's: the number of decimals its
 * integer amounts carry (Stripe: ISK 2 where ISO has 0, MGA 0 where ISO has 2), and the multiple
 * those integers must be (Stripe's three-decimal currencies must end in 0).
 */
export interface GatewayUnits {
  exponent: number;
  multipleOf?: number;
}

/** An amount the gateway cannot take exactly: a fraction of the smallest amount it takes in that currency. */
export class UnrepresentableAmount extends RangeError {
  constructor(
    readonly amount: number,
    readonly currency: string,
    /** The smallest amount the gateway takes, in ISO minor units: every amount must be a multiple of it. */
    readonly step: number,
  ) {
    super(
      `${formatIso(amount, currency)} ${currency} is not a multiple of ${formatIso(step, currency)} ${currency}, ` +
        `the smallest amount the gateway takes in ${currency}`,
    );
    this.name = 'UnrepresentableAmount';
  }
}

/**
 * ISO 4217 minor units → the gateway's integer units, exactly: throws UnrepresentableAmount for an
 * amount the gateway's units cannot express (never rounds money).
 */
export function toGatewayUnits(amount: number, currency: string, units: GatewayUnits): number {
  if (!Number.isSafeInteger(amount)) throw new RangeError(`Amount ${amount} is not an integer`);
  const shift = units.exponent - currencyExponent(currency);
  const multipleOf = units.multipleOf ?? 1;
  const scale = 10 ** Math.abs(shift);
  if (shift >= 0) {
    const converted = amount * scale;
    if (!Number.isSafeInteger(converted)) throw new RangeError(`Amount ${amount} ${currency} is too large`);
    if (converted % multipleOf !== 0)
      throw new UnrepresentableAmount(amount, currency, Math.max(1, multipleOf / scale));
    return converted;
  }
  // The gateway's unit is coarser than ISO's minor unit: only whole multiples of it convert.
  if (amount % (scale * multipleOf) !== 0)
    throw new UnrepresentableAmount(amount, currency, scale * multipleOf);
  return amount / scale;
}

/** The gateway's integer units → ISO 4217 minor units, exactly (throws rather than round a fraction away). */
export function fromGatewayUnits(value: number, currency: string, units: GatewayUnits): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`Gateway amount ${value} is not an integer`);
  const shift = units.exponent - currencyExponent(currency);
  const scale = 10 ** Math.abs(shift);
  if (shift <= 0) {
    const converted = value * scale;
    if (!Number.isSafeInteger(converted)) throw new RangeError(`Gateway amount ${value} is too large`);
    return converted;
  }
  if (value % scale !== 0)
    throw new RangeError(
      `The gateway's amount ${value} (${units.exponent} decimals) is a fraction of a ${currency} minor unit`,
    );
  return value / scale;
}

/**
 * Integer minor units → the decimal string gateways such as PayPal expect ("12.34", "500" for JPY).
 * `decimals` is how many the gateway takes in this currency when it takes fewer than ISO 4217 has
 * (PayPal: none for HUF and TWD); an amount with a fraction it cannot take throws UnrepresentableAmount.
 */
export function toDecimalString(
  amount: number,
  currency: string,
  decimals: number = currencyExponent(currency),
): string {
  const exponent = currencyExponent(currency);
  const units = decimals < exponent ? toGatewayUnits(amount, currency, { exponent: decimals }) : amount;
  const shown = Math.min(decimals, exponent);
  if (shown === 0) return String(units);
  const sign = units < 0 ? '-' : '';
  const digits = String(Math.abs(units)).padStart(shown + 1, '0');
  return `${sign}${digits.slice(0, -shown)}.${digits.slice(-shown)}`;
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

/** ISO minor units as a decimal string, for messages ("10.50"). */
function formatIso(amount: number, currency: string): string {
  return toDecimalString(amount, currency);
}
