-- Every order reserves stock, so a popular product's stock row is updated many times a second.
-- The low-stock index covered (on_hand - reserved - threshold), so each of those updates wrote new
-- entries in every index of the table: a product's primary-key entries grew by one per update, and
-- each reservation walked all of them until VACUUM came (CPU per checkout grew for as long as the
-- load lasted). With no index over on_hand or reserved the updates are heap-only (HOT): no index
-- entry is written, and dead versions are pruned within their page. The low-stock list reads a
-- partial index on a stored flag instead, which changes only when a level crosses its threshold.

ALTER TABLE stock_levels
  ADD COLUMN is_low boolean GENERATED ALWAYS AS (on_hand - reserved <= low_stock_threshold) STORED;

DROP INDEX stock_levels_low_stock;
CREATE INDEX stock_levels_tenant ON stock_levels (tenant_id);
CREATE INDEX stock_levels_low ON stock_levels (tenant_id) WHERE is_low;

-- Room in each page for the new versions of its rows, so that an update stays heap-only.
ALTER TABLE stock_levels SET (fillfactor = 70);

-- The same for the analytics copy of stock levels, rewritten by each batch of stock events: its
-- low-stock index no longer covers `available`; the few low rows are sorted when read.
DROP INDEX analytics_stock_low;
CREATE INDEX analytics_stock_low ON analytics_stock (tenant_id) WHERE low_stock;
ALTER TABLE analytics_stock SET (fillfactor = 70);
