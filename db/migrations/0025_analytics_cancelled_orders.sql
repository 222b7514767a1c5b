-- A cancelled order leaves the dashboard's `orders` and `average_order_value`: its cancellation takes
-- it back out of the 15-minute bucket it was placed in, once. Nullable, no default: adding them
-- rewrites nothing.
ALTER TABLE analytics_orders
  ADD COLUMN placed_at timestamptz,
  ADD COLUMN cancelled_at timestamptz;

-- When the orders counted so far were placed, from their created events in the historical store.
UPDATE analytics_orders AS o
SET placed_at = e.occurred_at
FROM analytics_events AS e
WHERE o.created_seen
  AND e.tenant_id = o.tenant_id
  AND e.type = 'commerce.order.created'
  AND e.data ->> 'order_id' = o.order_id::text;

-- Orders cancelled before this migration leave the buckets they were placed in now, so that past
-- ranges count as new ones do. An order whose created event the store no longer holds stays in.
WITH cancellations AS (
  SELECT DISTINCT ON (tenant_id, data ->> 'order_id') tenant_id, data ->> 'order_id' AS order_id, occurred_at
  FROM analytics_events
  WHERE type = 'commerce.order.status_changed' AND data ->> 'to' = 'cancelled'
  ORDER BY tenant_id, data ->> 'order_id', occurred_at
),
cancelled AS (
  UPDATE analytics_orders AS o
  SET cancelled_at = c.occurred_at
  FROM cancellations AS c
  WHERE c.tenant_id = o.tenant_id AND c.order_id = o.order_id::text AND o.placed_at IS NOT NULL
  RETURNING o.tenant_id, o.currency, o.placed_at, o.total
)
UPDATE analytics_sales_buckets AS b
SET orders = b.orders - taken.orders, order_value = b.order_value - taken.order_value
FROM (
  SELECT tenant_id, currency, date_bin('15 minutes', placed_at, timestamptz '1970-01-01 00:00:00+00') AS bucket,
         count(*) AS orders, sum(total) AS order_value
  FROM cancelled
  GROUP BY 1, 2, 3
) AS taken
WHERE b.tenant_id = taken.tenant_id AND b.currency = taken.currency AND b.bucket = taken.bucket;
