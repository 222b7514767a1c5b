-- Payments: stored payment methods, payments and refunds with their state machines, the audit log
-- of every gateway call, webhook deliveries (applied once each), reconciliation results, and each
-- tenant's own gateway accounts (secrets sealed with AES-256-GCM by the application).

CREATE TABLE payment_gateway_settings (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  gateway text NOT NULL CHECK (gateway IN ('stripe', 'square', 'paypal')),
  -- Non-secret settings (api_base, location_id, device_id, client_id, webhook_id).
  settings jsonb NOT NULL DEFAULT '{}',
  -- The secrets as one sealed JSON document (`v1.<iv>.<tag>.<ciphertext>`); never returned.
  secrets_sealed text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, gateway)
);
SELECT enable_tenant_rls('payment_gateway_settings');

CREATE TABLE payment_methods (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  gateway text NOT NULL CHECK (gateway IN ('stripe', 'square', 'square_terminal', 'paypal', 'manual')),
  type text NOT NULL CHECK (type IN ('card', 'cash', 'check', 'paypal')),
  gateway_token text CHECK (length(gateway_token) <= 255),
  brand text,
  last4 text CHECK (last4 ~ '^[0-9]{4}$'),
  exp_month integer CHECK (exp_month BETWEEN 1 AND 12),
  exp_year integer,
  label text CHECK (length(label) <= 100),
  is_default boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT enable_tenant_rls('payment_methods');
CREATE UNIQUE INDEX payment_methods_one_default ON payment_methods (tenant_id) WHERE is_default;

CREATE TABLE payments (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  order_id uuid NOT NULL REFERENCES orders (id),
  gateway text NOT NULL CHECK (gateway IN ('stripe', 'square', 'square_terminal', 'paypal', 'manual')),
  payment_method_id uuid REFERENCES payment_methods (id) ON DELETE SET NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status text NOT NULL CHECK (status IN ('pending', 'authorized', 'completed', 'failed', 'voided',
                                         'partially_refunded', 'refunded', 'unknown')),
  capture boolean NOT NULL,
  amount_authorized bigint NOT NULL DEFAULT 0 CHECK (amount_authorized >= 0),
  amount_captured bigint NOT NULL DEFAULT 0 CHECK (amount_captured >= 0),
  amount_refunded bigint NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
  gateway_reference text,
  -- Follow-up ids some gateways hand out (PayPal authorization/capture, Square Terminal payment).
  gateway_data jsonb NOT NULL DEFAULT '{}',
  next_action jsonb,
  failure_code text,
  failure_message text,
  cash_tendered bigint CHECK (cash_tendered >= 0),
  change_due bigint CHECK (change_due >= 0),
  -- The gateway operation in flight (capture, void): a second one is refused meanwhile.
  pending_operation text,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT payments_captured_within_amount CHECK (amount_captured <= amount),
  CONSTRAINT payments_refunded_within_captured CHECK (amount_refunded <= amount_captured)
);
SELECT enable_tenant_rls('payments');
CREATE INDEX payments_order ON payments (tenant_id, order_id);
CREATE INDEX payments_created ON payments (tenant_id, created_at);
CREATE INDEX payments_gateway_reference ON payments (gateway, gateway_reference) WHERE gateway_reference IS NOT NULL;
CREATE INDEX payments_unknown ON payments (status) WHERE status = 'unknown';

CREATE TABLE refunds (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  payment_id uuid NOT NULL REFERENCES payments (id),
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status text NOT NULL CHECK (status IN ('pending', 'processed', 'failed')),
  reason text CHECK (length(reason) <= 500),
  gateway_reference text,
  failure_code text,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  processed_at timestamptz
);
SELECT enable_tenant_rls('refunds');
CREATE INDEX refunds_payment ON refunds (tenant_id, payment_id);
CREATE INDEX refunds_gateway_reference ON refunds (gateway_reference) WHERE gateway_reference IS NOT NULL;

-- The audit log: one row per gateway operation, updated on each retry (same idempotency key).
CREATE TABLE payment_transactions (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  payment_id uuid NOT NULL REFERENCES payments (id),
  refund_id uuid REFERENCES refunds (id),
  kind text NOT NULL CHECK (kind IN ('authorize', 'charge', 'capture', 'void', 'refund', 'confirm')),
  amount bigint NOT NULL CHECK (amount >= 0),
  currency text NOT NULL,
  idempotency_key text NOT NULL,
  -- sha256 of the request's parameters: a retry must send exactly the same request.
  request_fingerprint text NOT NULL,
  -- The request's parameters (amounts, references; never card data), resent as-is on a retry.
  request jsonb NOT NULL,
  gateway_reference text,
  outcome text NOT NULL CHECK (outcome IN ('pending', 'succeeded', 'declined', 'unknown')),
  failure_code text,
  raw_response jsonb,
  latency_ms integer,
  attempts integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT payment_transactions_key_unique UNIQUE (tenant_id, idempotency_key)
);
SELECT enable_tenant_rls('payment_transactions');
CREATE INDEX payment_transactions_payment ON payment_transactions (tenant_id, payment_id, created_at);
CREATE INDEX payment_transactions_unknown ON payment_transactions (outcome) WHERE outcome = 'unknown';

-- Webhook deliveries: a gateway's event id is stored once, so a redelivery changes nothing.
CREATE TABLE payment_webhook_events (
  gateway text NOT NULL,
  event_id text NOT NULL,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  type text NOT NULL,
  payment_id uuid REFERENCES payments (id),
  refund_id uuid REFERENCES refunds (id),
  payload jsonb NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (gateway, event_id)
);
SELECT enable_tenant_rls('payment_webhook_events');

CREATE TABLE payment_reconciliation (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  run_id uuid NOT NULL,
  gateway text NOT NULL,
  period_from timestamptz NOT NULL,
  period_to timestamptz NOT NULL,
  result text NOT NULL CHECK (result IN ('matched', 'missing_local', 'missing_gateway', 'amount_mismatch', 'status_mismatch')),
  payment_id uuid REFERENCES payments (id),
  gateway_reference text,
  currency text,
  local_amount bigint,
  gateway_amount bigint,
  local_status text,
  gateway_status text,
  created_at timestamptz NOT NULL DEFAULT now()
);
SELECT enable_tenant_rls('payment_reconciliation');
CREATE INDEX payment_reconciliation_run ON payment_reconciliation (tenant_id, run_id, id);
CREATE INDEX payment_reconciliation_recent ON payment_reconciliation (tenant_id, id);
