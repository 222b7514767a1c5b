-- Analytics: the historical store of every domain event, the rollups behind the dashboard, the
-- co-occurrence counts behind recommendations, and the snapshots the consumers keep to build them.

-- The historical store: every domain event once, append-only, partitioned by month of occurred_at.
-- Its columns are the warehouse row (docs/analytics.md gives the BigQuery schema).
CREATE TABLE analytics_events (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  occurred_at timestamptz NOT NULL,
  id uuid NOT NULL,
  type text NOT NULL,
  stream text NOT NULL,
  version integer NOT NULL,
  actor_type text NOT NULL,
  actor_id uuid,
  data jsonb NOT NULL,
  stored_at timestamptz NOT NULL DEFAULT now(),
  -- A partitioned table's keys must hold the partition key; the event id alone is unique as well.
  PRIMARY KEY (tenant_id, occurred_at, id)
) PARTITION BY RANGE (occurred_at);
SELECT enable_tenant_rls('analytics_events');
CREATE INDEX analytics_events_type ON analytics_events (tenant_id, type, occurred_at, id);

-- Catches a row whose month partition could not be created; queries through the parent see it too.
CREATE TABLE analytics_events_default PARTITION OF analytics_events DEFAULT;
SELECT enable_tenant_rls('analytics_events_default');

-- Creates the month partition holding `at` unless it exists. The application role may not create
-- tables, so this runs as the owner; the consumer calls it before storing an event of a new month
-- (and for the month after, so that the lock taken by CREATE falls ahead of the traffic).
CREATE FUNCTION analytics_ensure_partition(at timestamptz) RETURNS void
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = public, pg_temp
  AS $$
DECLARE
  month_start timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  partition_name text := 'analytics_events_p' || to_char(at AT TIME ZONE 'UTC', 'YYYYMM');
BEGIN
  IF to_regclass(partition_name) IS NOT NULL THEN
    RETURN;
  END IF;
  BEGIN
    EXECUTE format(
      'CREATE TABLE %I PARTITION OF analytics_events FOR VALUES FROM (%L) TO (%L)',
      partition_name, month_start, month_start + interval '1 month'
    );
    PERFORM enable_tenant_rls(partition_name::regclass);
  EXCEPTION
    -- Another process created it first, or rows of that month already sit in the default partition
    -- (they stay there, still visible through the parent).
    WHEN duplicate_table OR check_violation THEN NULL;
  END;
END $$;

-- Rollups in 15-minute UTC buckets: every real time zone's offset is a multiple of 15 minutes, so
-- local hours and days are exact unions of buckets.
CREATE TABLE analytics_sales_buckets (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  currency text NOT NULL,
  bucket timestamptz NOT NULL,
  orders integer NOT NULL DEFAULT 0,
  order_value bigint NOT NULL DEFAULT 0,
  items_sold bigint NOT NULL DEFAULT 0,
  revenue bigint NOT NULL DEFAULT 0,
  refunded bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, currency, bucket)
);
SELECT enable_tenant_rls('analytics_sales_buckets');

CREATE TABLE analytics_gateway_buckets (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  currency text NOT NULL,
  bucket timestamptz NOT NULL,
  gateway text NOT NULL,
  payments integer NOT NULL DEFAULT 0,
  amount bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, currency, bucket, gateway)
);
SELECT enable_tenant_rls('analytics_gateway_buckets');

CREATE TABLE analytics_product_buckets (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  currency text NOT NULL,
  bucket timestamptz NOT NULL,
  product_id uuid NOT NULL,
  quantity bigint NOT NULL DEFAULT 0,
  revenue bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, currency, bucket, product_id)
);
SELECT enable_tenant_rls('analytics_product_buckets');

-- The same per UTC day: a long range reads whole days here and only its ragged ends above.
CREATE TABLE analytics_product_days (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  currency text NOT NULL,
  day date NOT NULL,
  product_id uuid NOT NULL,
  quantity bigint NOT NULL DEFAULT 0,
  revenue bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, currency, day, product_id)
);
SELECT enable_tenant_rls('analytics_product_days');

-- Orders placed per currency: the dashboard's default currency is the tenant's most used.
CREATE TABLE analytics_currencies (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  currency text NOT NULL,
  orders bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, currency)
);
SELECT enable_tenant_rls('analytics_currencies');

-- Orders as analytics knows them: their lines (from commerce.order.created) are needed when the
-- order is paid. Either event may arrive first; the second applies the paid order's effects.
CREATE TABLE analytics_orders (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  order_id uuid NOT NULL,
  currency text,
  total bigint,
  lines jsonb NOT NULL DEFAULT '[]',
  created_seen boolean NOT NULL DEFAULT false,
  paid_at timestamptz,
  PRIMARY KEY (tenant_id, order_id)
);
SELECT enable_tenant_rls('analytics_orders');

-- The captured amount counted so far per payment: each event adds only what is new.
CREATE TABLE analytics_payments (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  payment_id uuid NOT NULL,
  gateway text NOT NULL,
  currency text NOT NULL,
  captured bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, payment_id)
);
SELECT enable_tenant_rls('analytics_payments');

-- Refunds counted as processed, each once.
CREATE TABLE analytics_refunds (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  refund_id uuid NOT NULL,
  amount bigint NOT NULL,
  currency text NOT NULL,
  processed_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, refund_id)
);
SELECT enable_tenant_rls('analytics_refunds');

-- Products as seen in order lines and stock events, with their all-time paid sales: names for the
-- dashboard, popularity for the recommendations' fallback and their co-occurrence scores.
CREATE TABLE analytics_products (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  product_id uuid NOT NULL,
  sku text,
  name text,
  paid_orders bigint NOT NULL DEFAULT 0,
  quantity bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, product_id)
);
SELECT enable_tenant_rls('analytics_products');
CREATE INDEX analytics_products_popular ON analytics_products (tenant_id, paid_orders DESC, quantity DESC, product_id);

-- Paid orders holding both products, stored in both directions so that one index range answers.
CREATE TABLE analytics_product_pairs (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  product_id uuid NOT NULL,
  other_id uuid NOT NULL,
  orders bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, product_id, other_id)
);
SELECT enable_tenant_rls('analytics_product_pairs');

-- The latest stock level per product (from inventory.stock.updated; event_id orders updates).
CREATE TABLE analytics_stock (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  product_id uuid NOT NULL,
  sku text NOT NULL,
  on_hand integer NOT NULL,
  reserved integer NOT NULL,
  available integer NOT NULL,
  low_stock_threshold integer NOT NULL,
  low_stock boolean NOT NULL,
  updated_at timestamptz NOT NULL,
  event_id uuid NOT NULL,
  PRIMARY KEY (tenant_id, product_id)
);
SELECT enable_tenant_rls('analytics_stock');
CREATE INDEX analytics_stock_low ON analytics_stock (tenant_id, available, product_id) WHERE low_stock;
