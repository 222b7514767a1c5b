import { describe, expect, it } from 'vitest';
import { formatMinorUnits } from './money';

// The ISO 4217 table itself is tested where it lives, in @tessera/contracts.
describe('ISO 4217 amounts', () => {
  it('formats minor units exactly, per exponent', () => {
    expect(formatMinorUnits(1999, 'EUR')).toBe('19.99');
    expect(formatMinorUnits(5, 'EUR')).toBe('0.05');
    expect(formatMinorUnits(-5, 'USD')).toBe('-0.05');
    expect(formatMinorUnits(1999, 'JPY')).toBe('1999');
    expect(formatMinorUnits(1, 'KWD')).toBe('0.001');
    expect(formatMinorUnits(9_007_199_254_740_991, 'EUR')).toBe('90071992547409.91');
    expect(() => formatMinorUnits(1.5, 'EUR')).toThrow(RangeError);
    expect(() => formatMinorUnits(1, 'ZZZ')).toThrow(RangeError);
  });
});
