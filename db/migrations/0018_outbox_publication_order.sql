-- A WebSocket resuming with last_event_id is sent the events published after that one. Seq is not
-- that order: rows are numbered just before their transaction commits, and a transaction numbered
-- 10 can commit after one numbered 11, which the relay has published meanwhile. A client that saw
-- 11 and resumed from it never got 10. The relay now stamps each batch it publishes with a number
-- from this sequence (one leader at a time, so batches are numbered in the order they went out);
-- within a batch, rows go out in seq order. Replay reads in (batch, seq) order.
CREATE SEQUENCE outbox_publication_batches;
REVOKE ALL ON SEQUENCE outbox_publication_batches FROM tessera_app;

ALTER TABLE outbox_events ADD COLUMN published_batch bigint;
-- Rows published before this migration count as one batch, in seq order, as replay read them.
UPDATE outbox_events SET published_batch = 0 WHERE published_at IS NOT NULL;
-- Replay reads the unmarked rows by published_at and the marked ones by batch: both or neither.
ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_published_batch
  CHECK ((published_at IS NULL) = (published_batch IS NULL));

-- The replay's range scan of its tenant's published rows, in publication order. It replaces the
-- (tenant_id, seq) index, which only replay read; rows enter it when published, not when written.
CREATE INDEX outbox_events_tenant_publication ON outbox_events (tenant_id, published_batch, seq)
  WHERE published_batch IS NOT NULL;
DROP INDEX outbox_events_tenant_seq;
