import { describe, expect, it } from 'vitest';
import { isUuid, uuidv7 } from './uuid';

describe('uuidv7', () => {
  it('is a version 7, variant 1 UUID carrying its millisecond', () => {
    const id = uuidv7(Date.UTC(2026, 10, 26));
    expect(isUuid(id)).toBe(true);
    expect(id[14]).toBe('7');
    expect('89ab').toContain(id[19]);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(Date.UTC(2026, 10, 26));
  });

  it('increases strictly within one millisecond and across many', () => {
    const now = Date.now() + 60_000;
    const ids = Array.from({ length: 10_000 }, () => uuidv7(now));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
