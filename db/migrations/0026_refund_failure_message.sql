-- Why a refund failed, in words: the gateway's message when it refused it, or the reason a manager
-- gave for declining the request. The requester's own `reason` stays as it was written.
ALTER TABLE refunds ADD COLUMN failure_message text;
