-- migrate: no transaction
-- Replay's range scan of its tenant's published rows in publication order (migration 0018); rows
-- enter it when published, by the one relay that leads, not when written. Built without blocking
-- the outbox's writers.
CREATE INDEX CONCURRENTLY outbox_events_tenant_publication ON outbox_events (tenant_id, published_batch, seq)
  WHERE published_batch IS NOT NULL;
