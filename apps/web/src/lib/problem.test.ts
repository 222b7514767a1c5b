import { UUID_PATTERN, uuidv7 } from '@tessera/contracts';
import { describe, expect, it } from 'vitest';
import { ApiError, errorMessage, isNotFound, isRecordId } from './problem';

describe('an id in a page address', () => {
  const id = uuidv7();
  const taken = [id, id.toUpperCase(), '00000000-0000-0000-0000-000000000000'];
  const refused = ['not-a-uuid', 'xyz', '', `${id}x`, ` ${id}`, id.replace(/-/g, ''), id.replace(/^./, 'g')];

  it('can name a record when the API would take it: a UUID, in either case', () => {
    for (const value of taken) expect(isRecordId(value), value).toBe(true);
  });

  it('cannot when the API would refuse it as a bad request', () => {
    for (const value of refused) expect(isRecordId(value), value).toBe(false);
  });

  it('is judged as the API judges it (the contracts’ pattern)', () => {
    const api = new RegExp(UUID_PATTERN);
    for (const value of [...taken, ...refused]) expect(isRecordId(value), value).toBe(api.test(value));
  });
});

describe('a detail page read that finds nothing', () => {
  it('is a 404, not another refusal or failure', () => {
    expect(isNotFound(new ApiError(404, { code: 'not_found', detail: 'The order does not exist' }))).toBe(
      true,
    );
    expect(isNotFound(new ApiError(400, { code: 'validation_failed' }))).toBe(false);
    expect(isNotFound(new ApiError(0, { title: 'Network error' }))).toBe(false);
    expect(isNotFound(new Error('boom'))).toBe(false);
  });
});

describe('the API’s developer wording is replaced by plain words, by code', () => {
  it('says an e-mail address is taken without "registered"', () => {
    const taken = new ApiError(409, { code: 'email_taken', title: 'The email is already registered' });
    expect(taken.message).toBe(
      'An account with this e-mail address already exists. Sign in with it, or use another address.',
    );
    expect(errorMessage(taken)).toBe(taken.message);
  });

  it('says a member is already in the business without "tenant"', () => {
    const member = new ApiError(409, {
      code: 'already_member',
      detail: 'This address already belongs to a member of the tenant',
    });
    expect(member.message).toBe('This e-mail address belongs to someone already in this business.');
    expect(member.problem.detail).toBe('This address already belongs to a member of the tenant');
  });

  it('keeps the API’s detail for other codes', () => {
    expect(new ApiError(409, { code: 'sku_taken', detail: 'The SKU MUG-01 is already used' }).message).toBe(
      'The SKU MUG-01 is already used',
    );
  });
});
