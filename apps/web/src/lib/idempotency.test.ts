import { describe, expect, it } from 'vitest';
import { IdempotencyConflictError, IdempotencyKeys, keyOutcome } from './idempotency';
import { ApiError, errorMessage } from './problem';

function counter() {
  let n = 0;
  return () => `key-${++n}`;
}

const network = () => new ApiError(0, { title: 'Network error' });
const conflict = () => new ApiError(422, { code: 'idempotency_conflict', title: 'Conflict' });

describe('idempotency keys follow what the API may have done with a request', () => {
  it('tells an answer for good from an unsure one, a refusal and a conflict', () => {
    expect(keyOutcome(null)).toBe('done');
    expect(keyOutcome(new ApiError(409, { code: 'insufficient_stock' }))).toBe('done');
    expect(keyOutcome(new ApiError(422, { code: 'validation_failed' }))).toBe('done');
    expect(keyOutcome(network())).toBe('unsure');
    expect(keyOutcome(new ApiError(500, {}))).toBe('unsure');
    expect(keyOutcome(new ApiError(502, { code: 'gateway_error' }))).toBe('unsure');
    expect(keyOutcome(new ApiError(409, { code: 'idempotency_in_progress' }))).toBe('unsure');
    expect(keyOutcome(new TypeError('bug'))).toBe('unsure');
    expect(keyOutcome(new ApiError(401, { code: 'unauthenticated' }))).toBe('refused');
    expect(keyOutcome(new ApiError(429, { code: 'rate_limited' }))).toBe('refused');
    expect(keyOutcome(conflict())).toBe('conflict');
    expect(keyOutcome(new IdempotencyConflictError())).toBe('conflict');
  });

  it('reuses the key for the same body while its outcome is unsure', () => {
    const keys = new IdempotencyKeys(counter());
    expect(keys.keyFor({ amount: 1 })).toBe('key-1');
    expect(keys.keyFor({ amount: 1 })).toBe('key-1');
    keys.settle(network());
    expect(keys.unsure).toBe(true);
    expect(keys.keyFor({ amount: 1 })).toBe('key-1');
    keys.settle(new ApiError(503, {}));
    expect(keys.keyFor({ amount: 1 })).toBe('key-1');
    // Signing in again says nothing about whether the first request was applied.
    keys.settle(new ApiError(401, { code: 'unauthenticated' }));
    expect(keys.unsure).toBe(true);
    expect(keys.keyFor({ amount: 1 })).toBe('key-1');
  });

  it('gives a fresh key after an answer for good, and for another body', () => {
    const keys = new IdempotencyKeys(counter());
    expect(keys.keyFor({ amount: 1 })).toBe('key-1');
    keys.settle(null);
    expect(keys.keyFor({ amount: 1 })).toBe('key-2');
    keys.settle(new ApiError(409, { code: 'insufficient_stock' }));
    expect(keys.keyFor({ amount: 1 })).toBe('key-3');
    expect(keys.keyFor({ amount: 2 })).toBe('key-4');
    expect(keys.unsure).toBe(false);
  });

  it('after a conflict, gives no key at all (neither the old nor a new one) until reset', () => {
    const keys = new IdempotencyKeys(counter());
    expect(keys.keyFor({ amount: 1 })).toBe('key-1');
    keys.settle(network());
    keys.settle(conflict());
    expect(keys.conflict).toBe(true);
    expect(() => keys.keyFor({ amount: 1 })).toThrow(IdempotencyConflictError);
    expect(() => keys.keyFor({ amount: 2 })).toThrow(IdempotencyConflictError);
    // The error keyFor throws is itself a conflict: settling it changes nothing.
    keys.settle(new IdempotencyConflictError());
    expect(() => keys.keyFor({ amount: 1 })).toThrow(IdempotencyConflictError);
    keys.reset();
    expect(keys.conflict).toBe(false);
    expect(keys.keyFor({ amount: 1 })).toBe('key-2');
  });

  it('explains a conflict to a person', () => {
    expect(errorMessage(conflict())).toMatch(/may already have been done/);
    expect(errorMessage(new IdempotencyConflictError())).toMatch(/may already have been done/);
  });
});
