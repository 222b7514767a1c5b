-- A capture or void retried with its Idempotency-Key after the gateway refused it answers from the
-- recorded call: it needs the gateway's message as well as its code, as the first answer had.
ALTER TABLE payment_transactions ADD COLUMN failure_message text;
