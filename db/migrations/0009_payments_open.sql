-- Every 30 s the reconciler looks for payments still open (pending or authorized): those pending at
-- a gateway whose webhook is late, and those of cancelled orders left unvoided. Open payments are a
-- small share of all payments, yet both queries read the whole table: on 300,000 payments (360 of
-- them open) 32 ms and 38 ms, growing with every sale. This index holds only the open ones: 0.6 ms
-- and 0.1 ms. `status` is already in an index (payments_unknown), so it costs no heap-only updates.
CREATE INDEX payments_open ON payments (id) WHERE status IN ('pending', 'authorized');
