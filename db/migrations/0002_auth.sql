-- Auth: global identities, tenant memberships, sessions and their refresh tokens, signing keys,
-- one-time tokens (password reset, email verification) and invitations.
--
-- Global tables (no tenant_id, no RLS): users (one identity across tenants: login finds a user by
-- email before any tenant is known), signing_keys (one JWKS for the whole API), one_time_tokens
-- (a user's reset and verification tokens; reset revokes sessions in every tenant).
-- Tenant-owned tables (RLS): memberships, sessions, refresh_tokens, invitations.

CREATE TABLE users (
  id uuid PRIMARY KEY,
  email text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  password_hash text NOT NULL,
  email_verified_at timestamptz,
  password_changed_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));

CREATE TABLE memberships (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  user_id uuid NOT NULL REFERENCES users (id),
  roles text[] NOT NULL CHECK (cardinality(roles) > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, user_id)
);
SELECT enable_tenant_rls('memberships');
CREATE INDEX memberships_user ON memberships (user_id);

-- A sign-in: idle expiry moves on each refresh, absolute expiry never does.
CREATE TABLE sessions (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  user_id uuid NOT NULL REFERENCES users (id),
  user_agent text,
  ip text,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NOT NULL DEFAULT now(),
  idle_expires_at timestamptz NOT NULL,
  absolute_expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revoked_reason text
);
SELECT enable_tenant_rls('sessions');
CREATE INDEX sessions_user ON sessions (tenant_id, user_id) WHERE revoked_at IS NULL;

-- Every refresh token a session was given (the family), stored as a SHA-256 hash. Exactly one is
-- unspent; presenting a spent one is reuse and revokes the session. `replacement_sealed` keeps the
-- successor (sealed) for REFRESH_REUSE_GRACE_SECONDS so a client's retry gets the same answer.
CREATE TABLE refresh_tokens (
  token_hash bytea PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  session_id uuid NOT NULL REFERENCES sessions (id),
  generation integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  spent_at timestamptz,
  replacement_sealed text
);
SELECT enable_tenant_rls('refresh_tokens');
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Access-token signing keys. The newest unretired key signs; a retired key is still published in
-- the JWKS until publish_until (its last tokens have expired by then).
CREATE TABLE signing_keys (
  kid text PRIMARY KEY,
  alg text NOT NULL,
  public_jwk jsonb NOT NULL,
  private_key_sealed text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz,
  publish_until timestamptz
);

CREATE TABLE one_time_tokens (
  id uuid PRIMARY KEY,
  token_hash bytea NOT NULL UNIQUE,
  purpose text NOT NULL CHECK (purpose IN ('reset', 'verify')),
  user_id uuid NOT NULL REFERENCES users (id),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX one_time_tokens_user ON one_time_tokens (user_id, purpose) WHERE used_at IS NULL;

CREATE TABLE invitations (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  email text NOT NULL,
  roles text[] NOT NULL CHECK (cardinality(roles) > 0),
  token_hash bytea NOT NULL UNIQUE,
  invited_by uuid NOT NULL REFERENCES users (id),
  expires_at timestamptz NOT NULL,
  accepted_at timestamptz,
  accepted_by uuid REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now()
);
SELECT enable_tenant_rls('invitations');
CREATE INDEX invitations_email ON invitations (tenant_id, lower(email)) WHERE accepted_at IS NULL;
