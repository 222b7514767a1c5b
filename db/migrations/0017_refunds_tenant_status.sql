-- The refund list filtered by status (`GET /commerce/refunds?status=pending`, the approvals page)
-- reads a tenant's refunds in that status newest first, a page after an id: this index serves the
-- RLS tenant condition, the status and the id order and cursor, however many refunds are in other
-- statuses.
CREATE INDEX refunds_tenant_status ON refunds (tenant_id, status, id);
