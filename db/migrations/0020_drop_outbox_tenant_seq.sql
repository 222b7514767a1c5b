-- migrate: no transaction
-- Replay reads published rows by outbox_events_tenant_publication now (0019). This index took an
-- entry from every outbox insert, all of a tenant's at its rightmost page, and another from every
-- relay mark. In paired runs of bench/checkout (four events a checkout), keeping both indexes was
-- 4 to 5 % slower than before 0018; dropping this one made checkout 12 to 15 % faster than before.
-- Without it, replay's reads by seq (the previous release's, during a roll-out, and this release's
-- for rows published before 0018) walk the outbox from their resume point, all tenants' rows
-- together: few rows for a socket that was away a moment, as after a deploy.
DROP INDEX CONCURRENTLY IF EXISTS outbox_events_tenant_seq;
