-- Commerce: the catalog, stock levels and their ledger, orders with their lines, status history
-- and payment state, and the Idempotency-Key records shared by every money- or stock-moving POST.

CREATE TABLE products (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  sku text NOT NULL CHECK (length(sku) BETWEEN 1 AND 64),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description text CHECK (length(description) <= 5000),
  -- Integer minor units of `currency` (ISO 4217, exponent checked by the application).
  price bigint NOT NULL CHECK (price >= 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT products_sku_unique UNIQUE (tenant_id, sku)
);
SELECT enable_tenant_rls('products');

-- One row per product, created with it. The CHECKs make overselling impossible even for a buggy
-- writer: reserved never exceeds on_hand, so available = on_hand - reserved is never negative.
CREATE TABLE stock_levels (
  product_id uuid PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  on_hand integer NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
  reserved integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  low_stock_threshold integer NOT NULL DEFAULT 0 CHECK (low_stock_threshold >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT stock_levels_reserved_within_on_hand CHECK (reserved <= on_hand)
);
SELECT enable_tenant_rls('stock_levels');
CREATE INDEX stock_levels_low_stock ON stock_levels (tenant_id, (on_hand - reserved - low_stock_threshold));

-- The ledger: every change of on_hand or reserved, with what caused it and who. Summing the deltas
-- of a product gives its stock level.
CREATE TABLE stock_movements (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('adjustment', 'set', 'reservation', 'release', 'fulfilment')),
  delta_on_hand integer NOT NULL,
  delta_reserved integer NOT NULL,
  on_hand_after integer NOT NULL,
  reserved_after integer NOT NULL,
  reason text CHECK (length(reason) <= 500),
  order_id uuid,
  actor_type text NOT NULL CHECK (actor_type IN ('user', 'system')),
  actor_id uuid,
  created_at timestamptz NOT NULL DEFAULT now()
);
SELECT enable_tenant_rls('stock_movements');
CREATE INDEX stock_movements_product ON stock_movements (product_id, id);

-- Per-tenant order numbers: the row is bumped in the order's own transaction, so numbers have no gaps.
CREATE TABLE order_counters (
  tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
  last_number bigint NOT NULL
);
SELECT enable_tenant_rls('order_counters');

CREATE TABLE orders (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  number bigint NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'paid', 'fulfilled', 'cancelled', 'refunded')),
  payment_status text NOT NULL
    CHECK (payment_status IN ('unpaid', 'authorized', 'partially_paid', 'paid', 'partially_refunded', 'refunded')),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- Bounded by 2^53 - 1 so that every amount is exact as a JSON number.
  subtotal bigint NOT NULL CHECK (subtotal BETWEEN 0 AND 9007199254740991),
  total bigint NOT NULL CHECK (total BETWEEN 0 AND 9007199254740991),
  amount_paid bigint NOT NULL DEFAULT 0 CHECK (amount_paid >= 0),
  amount_refunded bigint NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
  customer_email text CHECK (length(customer_email) <= 320),
  note text CHECK (length(note) <= 2000),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT orders_number_unique UNIQUE (tenant_id, number)
);
SELECT enable_tenant_rls('orders');
CREATE INDEX orders_tenant_id ON orders (tenant_id, id);
CREATE INDEX orders_tenant_status ON orders (tenant_id, status, id);

-- A product referenced by an order line cannot be deleted (RESTRICT): the catalog archives it instead.
CREATE TABLE order_lines (
  order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  position integer NOT NULL,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  product_id uuid NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
  sku text NOT NULL,
  name text NOT NULL,
  quantity integer NOT NULL CHECK (quantity > 0),
  unit_price bigint NOT NULL CHECK (unit_price >= 0),
  line_total bigint NOT NULL CHECK (line_total BETWEEN 0 AND 9007199254740991),
  PRIMARY KEY (order_id, position)
);
SELECT enable_tenant_rls('order_lines');
CREATE INDEX order_lines_product ON order_lines (product_id);

CREATE TABLE order_status_history (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  from_status text,
  to_status text NOT NULL,
  actor_type text NOT NULL CHECK (actor_type IN ('user', 'system')),
  actor_id uuid,
  reason text,
  created_at timestamptz NOT NULL DEFAULT now()
);
SELECT enable_tenant_rls('order_status_history');
CREATE INDEX order_status_history_order ON order_status_history (order_id, id);

-- The latest known state of each payment of an order, as told by commerce.payment.processed events;
-- last_event_id (a UUID v7, ordered by time) lets a late, stale event be ignored.
CREATE TABLE order_payments (
  payment_id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  status text NOT NULL,
  currency text NOT NULL,
  amount bigint NOT NULL,
  amount_captured bigint NOT NULL,
  amount_refunded bigint NOT NULL,
  last_event_id uuid NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT enable_tenant_rls('order_payments');
CREATE INDEX order_payments_order ON order_payments (order_id);

-- Idempotency-Key records: claimed (state running, with a lease) in a committed transaction of
-- their own before the work, completed with the response after it; kept until expires_at.
CREATE TABLE idempotency_keys (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  scope text NOT NULL,
  key text NOT NULL,
  fingerprint text NOT NULL,
  state text NOT NULL CHECK (state IN ('running', 'completed')),
  locked_until timestamptz NOT NULL,
  response_status integer,
  response_type text,
  response_body text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, scope, key)
);
SELECT enable_tenant_rls('idempotency_keys');
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);
