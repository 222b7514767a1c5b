-- Rollups for the dashboard's long ranges. A range reads its whole UTC months, then its other whole
-- UTC days, then only its ragged ends from the 15-minute buckets. On 90 days of 100,000 orders:
-- - the payment mix summed up to 96 bucket rows per gateway and day (up to 34,560 rows); per day
--   it reads at most 360;
-- - top products summed a row per product and day from analytics_product_days: 42,660 rows for
--   500 products, about 18 ms. With months it reads a row per product and month for the middle of
--   the range and days only at its ends.
CREATE TABLE analytics_gateway_days (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  currency text NOT NULL,
  day date NOT NULL,
  gateway text NOT NULL,
  payments bigint NOT NULL DEFAULT 0,
  amount bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, currency, day, gateway)
);
SELECT enable_tenant_rls('analytics_gateway_days');

INSERT INTO analytics_gateway_days (tenant_id, currency, day, gateway, payments, amount)
SELECT tenant_id, currency, (bucket AT TIME ZONE 'UTC')::date, gateway, sum(payments), sum(amount)
FROM analytics_gateway_buckets
GROUP BY 1, 2, 3, 4;

-- `month` is the first day of the UTC month.
CREATE TABLE analytics_product_months (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  currency text NOT NULL,
  month date NOT NULL CHECK (extract(day FROM month) = 1),
  product_id uuid NOT NULL,
  quantity bigint NOT NULL DEFAULT 0,
  revenue bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, currency, month, product_id)
);
SELECT enable_tenant_rls('analytics_product_months');

INSERT INTO analytics_product_months (tenant_id, currency, month, product_id, quantity, revenue)
SELECT tenant_id, currency, date_trunc('month', day)::date, product_id, sum(quantity), sum(revenue)
FROM analytics_product_days
GROUP BY 1, 2, 3, 4;
