-- Disputes (chargebacks, and inquiries before them) as the gateways' webhooks tell of them: the
-- merchant answers in the gateway's dashboard, by `evidence_due_by`; here they are shown and counted.
CREATE TABLE payment_disputes (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  payment_id uuid NOT NULL REFERENCES payments (id),
  gateway text NOT NULL,
  gateway_reference text NOT NULL,
  amount bigint NOT NULL CHECK (amount >= 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  reason text CHECK (length(reason) <= 200),
  status text NOT NULL CHECK (status IN ('needs_response', 'under_review', 'won', 'lost')),
  evidence_due_by timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  closed_at timestamptz
);
SELECT enable_tenant_rls('payment_disputes');
CREATE UNIQUE INDEX payment_disputes_reference ON payment_disputes (payment_id, gateway_reference);
-- The list, newest first, whole or by status (the open ones a merchant must answer).
CREATE INDEX payment_disputes_tenant_status ON payment_disputes (tenant_id, status, id);
CREATE INDEX payment_disputes_tenant ON payment_disputes (tenant_id, id);
