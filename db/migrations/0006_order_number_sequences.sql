-- Order numbers come from one sequence per tenant instead of a counter row. The row stayed locked
-- until its order committed, so every checkout of a tenant queued behind the one before it (and
-- held its stock rows while it waited). A sequence hands out numbers without a lock; a checkout
-- that fails after taking its number (a database error, a crash) leaves a gap, as sequences do.

CREATE FUNCTION order_number_sequence(tenant uuid) RETURNS text
  LANGUAGE sql IMMUTABLE
  AS $$ SELECT 'order_numbers_' || replace(tenant::text, '-', '') $$;

-- Created with the tenant; only next_order_number() may advance it, never the application role.
CREATE FUNCTION create_order_number_sequence(tenant uuid, start_with bigint) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
  AS $$
BEGIN
  EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I START WITH %s', order_number_sequence(tenant), start_with);
  EXECUTE format('REVOKE ALL ON SEQUENCE %I FROM tessera_app', order_number_sequence(tenant));
END $$;

CREATE FUNCTION tenants_create_order_number_sequence() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
  AS $$
BEGIN
  PERFORM create_order_number_sequence(NEW.id, 1);
  RETURN NEW;
END $$;
CREATE TRIGGER tenants_order_number_sequence AFTER INSERT ON tenants
  FOR EACH ROW EXECUTE FUNCTION tenants_create_order_number_sequence();

-- Existing tenants go on from their last number.
DO $$
DECLARE
  tenant record;
BEGIN
  FOR tenant IN
    SELECT t.id, coalesce(c.last_number, 0) + 1 AS next_number
    FROM tenants t LEFT JOIN order_counters c ON c.tenant_id = t.id
  LOOP
    PERFORM create_order_number_sequence(tenant.id, tenant.next_number);
  END LOOP;
END $$;

-- The next order number of the transaction's tenant (app.tenant_id), and of no other.
CREATE FUNCTION next_order_number() RETURNS bigint
  LANGUAGE sql SECURITY DEFINER SET search_path = public
  AS $$ SELECT nextval(order_number_sequence(current_tenant_id())::regclass) $$;

DROP TABLE order_counters;
