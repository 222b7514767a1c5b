-- Platform: the RLS-bound application role, the tenancy convention, tenants, the event outbox.

-- The role every tenant transaction switches to (SET LOCAL ROLE). It has no BYPASSRLS, so
-- row-level security applies to everything it reads or writes. Roles are cluster-wide, so
-- several databases (test templates) may race to create it.
DO $$
BEGIN
  CREATE ROLE tessera_app NOLOGIN NOBYPASSRLS;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

-- A non-superuser owner must be a member of the role to switch to it.
DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('GRANT tessera_app TO %I', current_user);
  END IF;
END $$;

GRANT USAGE ON SCHEMA public TO tessera_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tessera_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO tessera_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO tessera_app;

-- The tenant of the current transaction, or NULL when none is set (then no tenant row is visible).
CREATE FUNCTION current_tenant_id() RETURNS uuid
  LANGUAGE sql STABLE
  AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

-- The convention for every tenant-owned table: call this right after CREATE TABLE. It enables and
-- forces row-level security and adds the one policy that confines reads and writes to the tenant.
CREATE FUNCTION enable_tenant_rls(target regclass) RETURNS void
  LANGUAGE plpgsql
  AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', target);
  EXECUTE format(
    'CREATE POLICY tenant_isolation ON %s USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())',
    target
  );
END $$;

CREATE TABLE tenants (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  time_zone text NOT NULL DEFAULT 'UTC',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- The tenants table is keyed by id rather than tenant_id: a tenant sees its own row only.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants USING (id = current_tenant_id()) WITH CHECK (id = current_tenant_id());

-- Transactional outbox: services insert events in the transaction of their business rows; the
-- relay publishes committed rows in seq order and marks them.
CREATE TABLE outbox_events (
  seq bigserial PRIMARY KEY,
  id uuid NOT NULL UNIQUE,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  type text NOT NULL,
  stream text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
SELECT enable_tenant_rls('outbox_events');
CREATE INDEX outbox_events_unpublished ON outbox_events (seq) WHERE published_at IS NULL;
CREATE INDEX outbox_events_published_at ON outbox_events (published_at) WHERE published_at IS NOT NULL;

-- Exactly-once effects: a consumer records each event id in the transaction of its side effect.
CREATE TABLE processed_events (
  consumer text NOT NULL,
  event_id uuid NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);

-- Events a consumer failed on too often; kept here (not in Redis) so they survive any restart.
CREATE TABLE dead_letters (
  id bigserial PRIMARY KEY,
  consumer text NOT NULL,
  event_id uuid NOT NULL,
  stream text NOT NULL,
  payload jsonb NOT NULL,
  error text NOT NULL,
  attempts integer NOT NULL,
  failed_at timestamptz NOT NULL DEFAULT now(),
  replayed_at timestamptz
);
CREATE INDEX dead_letters_pending ON dead_letters (consumer, id) WHERE replayed_at IS NULL;
