-- System work (withSystem: the login's lookup by email, the outbox relay, the reconciler's sweeps)
-- runs as the role that owns the tables, across tenants. A superuser bypasses row-level security
-- anyway; the owner on a managed PostgreSQL is no superuser, and FORCE made every tenant table look
-- empty to it: nobody could sign in. Without FORCE the owner is exempt, as owners are by default;
-- tenant transactions switch to tessera_app, which owns nothing, so the policies still bind them.

CREATE OR REPLACE FUNCTION enable_tenant_rls(target regclass) RETURNS void
  LANGUAGE plpgsql
  AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
  EXECUTE format(
    'CREATE POLICY tenant_isolation ON %s USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())',
    target
  );
END $$;

DO $$
DECLARE
  forced regclass;
BEGIN
  FOR forced IN
    SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relforcerowsecurity
  LOOP
    EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', forced);
  END LOOP;
END $$;
