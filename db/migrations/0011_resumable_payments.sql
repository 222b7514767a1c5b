-- A card payment spans a gateway call between two transactions. If the process dies during the
-- call, or the second transaction fails, the client retries with the same Idempotency-Key. The
-- retry must finish the payment the first attempt began, not begin another under a new gateway
-- key: a second charge. The key records, in the payment's first transaction, the payment it began.
ALTER TABLE idempotency_keys ADD COLUMN resource_id uuid;

-- A gateway call left `pending` by a process that died during it is as unknown as one that timed
-- out: the reconciler resends it under its idempotency key. This index finds both.
DROP INDEX payment_transactions_unknown;
CREATE INDEX payment_transactions_unsettled ON payment_transactions (updated_at)
  WHERE outcome IN ('pending', 'unknown');
