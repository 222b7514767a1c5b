import { useRef } from 'react';
import { newIdempotencyKey } from './api';
import { ApiError } from './problem';

/**
 * Idempotency keys for one form's submissions. The same request sent again after the network
 * failed, or while the first is still running, reuses its key, so the API charges or reserves once.
 * A changed request, or one the API has definitely answered, gets a fresh key: the API would
 * otherwise replay its earlier answer (or refuse the other body with 422).
 */
export function useIdempotencyKey() {
  const last = useRef<{ body: string; key: string } | null>(null);
  return {
    keyFor(body: unknown): string {
      const text = JSON.stringify(body);
      if (last.current?.body !== text) last.current = { body: text, key: newIdempotencyKey() };
      return last.current.key;
    },
    /** After an answer: keep the key only when the request may not have been applied. */
    settle(error: unknown): void {
      const unsure =
        error instanceof ApiError && (error.status === 0 || error.code === 'idempotency_in_progress');
      if (!unsure) last.current = null;
    },
  };
}
