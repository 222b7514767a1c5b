import { useState } from 'react';
import { newIdempotencyKey } from './api';
import { ApiError } from './problem';

/**
 * What an answer (or its absence) says about the request that was sent with a key:
 * - `done`: the API answered it for good (success, or a 4xx it has recorded and would replay);
 * - `unsure`: it may or may not have been applied (no answer, a 5xx, which frees the key for a
 *   retry that resumes what the first attempt began, or still running): only the same request
 *   with the same key may follow, else the work could be done twice;
 * - `refused`: turned away before the key was looked at (not signed in, not allowed, rate
 *   limited), which says nothing about an earlier attempt with the key: what was known stands;
 * - `conflict`: the API holds this key for another request (422 `idempotency_conflict`), which
 *   may have done the very thing asked now. Neither that key nor a new one is safe until a person
 *   has looked.
 */
export type KeyOutcome = 'done' | 'unsure' | 'refused' | 'conflict';

export function keyOutcome(error: unknown): KeyOutcome {
  if (error === null || error === undefined) return 'done';
  // Not an answer of the API (a bug, an abort): nothing says the request did not reach it.
  if (!(error instanceof ApiError)) return 'unsure';
  if (error.code === 'idempotency_conflict') return 'conflict';
  if (error.status === 0 || error.status >= 500 || error.code === 'idempotency_in_progress') return 'unsure';
  if (error.status === 401 || error.status === 403 || error.status === 429) return 'refused';
  return 'done';
}

/** Thrown instead of sending, once the API has refused a key as used for another request. */
export class IdempotencyConflictError extends ApiError {
  constructor() {
    super(422, {
      code: 'idempotency_conflict',
      title: 'Already sent with other details',
      detail:
        'This was already sent once with other details, and may already have been done. Check ' +
        'before trying again (reload the page to start over).',
    });
    this.name = 'IdempotencyConflictError';
  }
}

/**
 * The Idempotency-Key of one action's attempts, bound to the exact body sent. The same body sent
 * again, after the network failed or while the first is still running, reuses its key, so the
 * API charges or reserves once. A changed body, or one the API has definitely answered, gets a
 * fresh key: the API would otherwise replay its earlier answer (or refuse the other body with
 * 422). After a 422 idempotency_conflict no key is given any more (keyFor throws) until `reset`,
 * which a person's explicit choice to start over must call.
 */
export class IdempotencyKeys {
  private last: { body: string; key: string; unsure: boolean } | null = null;
  private conflicted = false;

  constructor(private readonly fresh: () => string = newIdempotencyKey) {}

  /** The key to send `body` with: pass exactly what is sent. */
  keyFor(body: unknown): string {
    if (this.conflicted) throw new IdempotencyConflictError();
    const text = JSON.stringify(body);
    if (this.last?.body !== text) this.last = { body: text, key: this.fresh(), unsure: false };
    return this.last.key;
  }

  /** After an answer (`null` for a success) to the request sent with the current key. */
  settle(error: unknown): void {
    switch (keyOutcome(error)) {
      case 'done':
        this.last = null;
        return;
      case 'unsure':
        if (this.last) this.last.unsure = true;
        return;
      case 'refused':
        return;
      case 'conflict':
        this.conflicted = true;
        return;
    }
  }

  /** True while the last request sent may have been applied: only it may be sent again. */
  get unsure(): boolean {
    return this.last?.unsure ?? false;
  }

  /** True once the API refused the key as another request's, until `reset`. */
  get conflict(): boolean {
    return this.conflicted;
  }

  /** Starts over: a person chose to make a new attempt, knowing the last may have been applied. */
  reset(): void {
    this.last = null;
    this.conflicted = false;
  }
}

/** Idempotency keys for one form's submissions, kept as long as the form is mounted. */
export function useIdempotencyKey(): IdempotencyKeys {
  const [keys] = useState(() => new IdempotencyKeys());
  return keys;
}
