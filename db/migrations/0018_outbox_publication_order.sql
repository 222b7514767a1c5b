-- A WebSocket resuming with last_event_id is sent the events published after that one. Seq is not
-- that order: rows are numbered just before their transaction commits, and a transaction numbered
-- 10 can commit after one numbered 11, which the relay has published meanwhile. A client that saw
-- 11 and resumed from it never got 10. The relay now stamps each batch it publishes with a number
-- from this sequence (one leader at a time, so batches are numbered in the order they went out);
-- within a batch, rows go out in seq order. Replay reads in (batch, seq) order.
CREATE SEQUENCE outbox_publication_batches;
REVOKE ALL ON SEQUENCE outbox_publication_batches FROM tessera_app;

-- Nullable and without a default, so adding it rewrites nothing and holds its lock for an instant.
-- Rows published before it (or by a relay of the previous release during the roll-out) have no
-- batch: replay counts them as published before every numbered batch, in seq order, and they
-- leave the outbox with its retention period.
ALTER TABLE outbox_events ADD COLUMN published_batch bigint;
