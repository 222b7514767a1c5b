-- A WebSocket resuming with last_event_id replays its tenant's events committed after that one. The
-- outbox keeps every tenant's events, so without this index the replay walked every row committed
-- since then, all tenants together, to find the tenant's: 20,000 rows took 1.4 ms here, so a socket
-- resuming ten minutes back on a platform writing 2,000 events a second walked 1.2 million rows
-- (about 85 ms), and every socket resumes at once after a deploy. With the index it is a range scan
-- of the tenant's own rows (the row-level-security condition is the index condition). It costs one
-- more index entry per event written.
CREATE INDEX outbox_events_tenant_seq ON outbox_events (tenant_id, seq);
