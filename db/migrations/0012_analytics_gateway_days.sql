-- The dashboard's payment mix per UTC day, as analytics_product_days is for products: a long range
-- reads whole days here and only its ragged ends from the 15-minute buckets. Summing the buckets
-- alone read 96 rows per gateway and day: on 90 days of 100,000 orders, 30,000 rows and 14 ms of
-- the dashboard's 45 ms.
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
