-- Reconciliation compares what was refunded, too: a refund made at the gateway whose webhook never
-- came shows as an amount mismatch. Nullable, no default: adding them rewrites nothing.
ALTER TABLE payment_reconciliation
  ADD COLUMN local_refunded bigint,
  ADD COLUMN gateway_refunded bigint;
