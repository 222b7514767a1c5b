-- migrate: no transaction
-- Replay's range scan of its tenant's published rows in publication order (migration 0018); rows
-- enter it when published, not when written. Built without blocking the outbox's writers.
-- outbox_events_tenant_seq stays for this release: the previous release's replay reads by it, and
-- so does this one's for the rows published before 0018.
CREATE INDEX CONCURRENTLY outbox_events_tenant_publication ON outbox_events (tenant_id, published_batch, seq)
  WHERE published_batch IS NOT NULL;
