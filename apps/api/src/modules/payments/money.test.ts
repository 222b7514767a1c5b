import { describe, expect, it } from 'vitest';
import { currencies, currencyExponent as isoExponent } from '../../platform/money';
import {
  currencyExponent,
  fromDecimalString,
  fromGatewayUnits,
  toDecimalString,
  toGatewayUnits,
  UnrepresentableAmount,
} from './money';

const refusal = (work: () => unknown): UnrepresentableAmount => {
  try {
    work();
  } catch (error) {
    if (error instanceof UnrepresentableAmount) return error;
    throw error;
  }
  throw new Error('expected an UnrepresentableAmount');
};

describe('payments money', () => {
  it('reads exponents as the platform does (ISO 4217) for every priceable currency', () => {
    for (const code of currencies()) expect(currencyExponent(code), code).toBe(isoExponent(code));
  });

  it('converts ISO minor units to a finer gateway unit and back (ISK, UGX at Stripe: ×100)', () => {
    expect(toGatewayUnits(5, 'ISK', { exponent: 2 })).toBe(500);
    expect(toGatewayUnits(1234, 'UGX', { exponent: 2 })).toBe(123400);
    expect(fromGatewayUnits(500, 'ISK', { exponent: 2 })).toBe(5);
    // A fraction of a króna has no ISO minor unit: never rounded away.
    expect(() => fromGatewayUnits(550, 'ISK', { exponent: 2 })).toThrow(RangeError);
  });

  it('converts to a coarser gateway unit only when exact (MGA at Stripe: whole ariary)', () => {
    expect(toGatewayUnits(150000, 'MGA', { exponent: 0 })).toBe(1500);
    expect(fromGatewayUnits(1500, 'MGA', { exponent: 0 })).toBe(150000);
    const error = refusal(() => toGatewayUnits(150050, 'MGA', { exponent: 0 }));
    expect(error).toMatchObject({ amount: 150050, currency: 'MGA', step: 100 });
    expect(error.message).toBe(
      '1500.50 MGA is not a multiple of 1.00 MGA, the smallest amount the gateway takes in MGA',
    );
  });

  it("honours a gateway's required multiple (three-decimal currencies ending in 0)", () => {
    expect(toGatewayUnits(5120, 'KWD', { exponent: 3, multipleOf: 10 })).toBe(5120);
    expect(refusal(() => toGatewayUnits(5124, 'KWD', { exponent: 3, multipleOf: 10 }))).toMatchObject({
      step: 10,
    });
    expect(toGatewayUnits(-30, 'BHD', { exponent: 3, multipleOf: 10 })).toBe(-30);
  });

  it('leaves currencies whose gateway units are ISO units alone', () => {
    expect(toGatewayUnits(1999, 'USD', { exponent: 2 })).toBe(1999);
    expect(toGatewayUnits(500, 'JPY', { exponent: 0 })).toBe(500);
    expect(fromGatewayUnits(500, 'JPY', { exponent: 0 })).toBe(500);
    expect(() => toGatewayUnits(1.5, 'USD', { exponent: 2 })).toThrow(RangeError);
  });

  it('writes decimal strings with fewer decimals than ISO when the gateway takes fewer (PayPal HUF, TWD)', () => {
    expect(toDecimalString(150000, 'HUF')).toBe('1500.00');
    expect(toDecimalString(150000, 'HUF', 0)).toBe('1500');
    expect(toDecimalString(99900, 'TWD', 0)).toBe('999');
    expect(toDecimalString(500, 'JPY', 0)).toBe('500');
    expect(toDecimalString(1999, 'USD', 2)).toBe('19.99');
    expect(toDecimalString(-1999, 'USD')).toBe('-19.99');
    expect(refusal(() => toDecimalString(150050, 'HUF', 0))).toMatchObject({ step: 100 });
    // And reads them back in ISO minor units.
    expect(fromDecimalString('1500', 'HUF')).toBe(150000);
    expect(fromDecimalString('1500.00', 'HUF')).toBe(150000);
  });
});
