-- Refunds a gateway answered `pending` (Square's often are) wait for its webhook; the reconciler
-- polls those still waiting, oldest first, in case the webhook never comes or came too early.
CREATE INDEX refunds_pending_at_gateway ON refunds (updated_at)
  WHERE status = 'pending' AND gateway_reference IS NOT NULL;
