import { sql, type Generated } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Timestamp } from '../../platform/db/tables';
import type { Executor } from '../../platform/db/tenant';

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  email_verified_at: Date | null;
  password_changed_at: Timestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface MembershipsTable {
  tenant_id: string;
  user_id: string;
  roles: string[];
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SessionsTable {
  id: string;
  tenant_id: string;
  user_id: string;
  user_agent: string | null;
  ip: string | null;
  created_at: Timestamp;
  last_used_at: Timestamp;
  idle_expires_at: Timestamp;
  absolute_expires_at: Timestamp;
  revoked_at: Date | null;
  revoked_reason: string | null;
}

export interface RefreshTokensTable {
  token_hash: Buffer;
  tenant_id: string;
  session_id: string;
  generation: number;
  created_at: Timestamp;
  spent_at: Date | null;
  replacement_sealed: string | null;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: unknown;
  private_key_sealed: string;
  created_at: Timestamp;
  retired_at: Date | null;
  publish_until: Date | null;
}

export interface OneTimeTokensTable {
  id: string;
  token_hash: Buffer;
  purpose: 'reset' | 'verify';
  user_id: string;
  expires_at: Timestamp;
  used_at: Date | null;
  created_at: Generated<Date>;
}

export interface InvitationsTable {
  id: string;
  tenant_id: string;
  email: string;
  roles: string[];
  token_hash: Buffer;
  invited_by: string;
  expires_at: Timestamp;
  accepted_at: Date | null;
  accepted_by: string | null;
  created_at: Timestamp;
}

declare module '../../platform/db/tables' {
  interface DB {
    users: UsersTable;
    memberships: MembershipsTable;
    sessions: SessionsTable;
    refresh_tokens: RefreshTokensTable;
    signing_keys: SigningKeysTable;
    one_time_tokens: OneTimeTokensTable;
    invitations: InvitationsTable;
  }
}

export interface UserRow {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  email_verified_at: Date | null;
  created_at: Date;
}

export interface SessionRow {
  id: string;
  tenant_id: string;
  user_id: string;
  user_agent: string | null;
  ip: string | null;
  created_at: Date;
  last_used_at: Date;
  idle_expires_at: Date;
  absolute_expires_at: Date;
  revoked_at: Date | null;
}

const USER_COLUMNS = ['id', 'email', 'name', 'password_hash', 'email_verified_at', 'created_at'] as const;

/** Users: a global identity (no tenant); looked up by email case-insensitively. */
export const users = {
  findByEmail(db: Executor, email: string): Promise<UserRow | undefined> {
    return db
      .selectFrom('users')
      .select(USER_COLUMNS)
      .where(sql<string>`lower(email)`, '=', email.toLowerCase())
      .executeTakeFirst();
  },

  /**
   * The user with every tenant membership, oldest first, in one round trip: what sign-in needs. The
   * memberships are a cross-tenant read by nature (the tenant is not known yet), so `db` is the owner.
   */
  findByEmailWithMemberships(
    db: Executor,
    email: string,
  ): Promise<(UserRow & { memberships: { tenant_id: string; roles: string[] }[] }) | undefined> {
    return db
      .selectFrom('users')
      .select(USER_COLUMNS)
      .select((eb) =>
        jsonArrayFrom(
          eb
            .selectFrom('memberships')
            .select(['memberships.tenant_id', 'memberships.roles'])
            .whereRef('memberships.user_id', '=', 'users.id')
            .orderBy('memberships.created_at')
            .orderBy('memberships.tenant_id'),
        ).as('memberships'),
      )
      .where(sql<string>`lower(email)`, '=', email.toLowerCase())
      .executeTakeFirst();
  },

  findById(db: Executor, id: string): Promise<UserRow | undefined> {
    return db.selectFrom('users').select(USER_COLUMNS).where('id', '=', id).executeTakeFirst();
  },

  async insert(
    db: Executor,
    user: { id: string; email: string; name: string; password_hash: string; email_verified_at?: Date | null },
  ): Promise<UserRow> {
    return await db
      .insertInto('users')
      .values({ ...user, email_verified_at: user.email_verified_at ?? null })
      .returning(USER_COLUMNS)
      .executeTakeFirstOrThrow();
  },

  async setPassword(db: Executor, id: string, passwordHash: string): Promise<void> {
    await db
      .updateTable('users')
      .set({ password_hash: passwordHash, password_changed_at: new Date(), updated_at: new Date() })
      .where('id', '=', id)
      .execute();
  },

  async markEmailVerified(db: Executor, id: string): Promise<void> {
    await db
      .updateTable('users')
      .set({ email_verified_at: new Date(), updated_at: new Date() })
      .where('id', '=', id)
      .where('email_verified_at', 'is', null)
      .execute();
  },
};

export const memberships = {
  /** Every tenant of a user with the user's roles there, oldest membership first (cross-tenant). */
  tenantsOfUser(
    db: Executor,
    userId: string,
  ): Promise<{ id: string; name: string; roles: string[]; time_zone: string }[]> {
    return db
      .selectFrom('memberships as m')
      .innerJoin('tenants as t', 't.id', 'm.tenant_id')
      .select(['t.id', 't.name', 'm.roles', 't.time_zone'])
      .where('m.user_id', '=', userId)
      .orderBy('m.created_at')
      .orderBy('m.tenant_id')
      .execute();
  },

  find(
    db: Executor,
    tenantId: string,
    userId: string,
  ): Promise<{ roles: string[]; created_at: Date } | undefined> {
    return db
      .selectFrom('memberships')
      .select(['roles', 'created_at'])
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
  },

  async insert(db: Executor, tenantId: string, userId: string, roles: string[]): Promise<void> {
    await db.insertInto('memberships').values({ tenant_id: tenantId, user_id: userId, roles }).execute();
  },
};

export const sessions = {
  /** A new session with its first refresh token (generation 1), in one statement. */
  async insertWithRefreshToken(
    db: Executor,
    session: Omit<SessionRow, 'revoked_at' | 'last_used_at' | 'created_at'> & { created_at: Date },
    refreshTokenHash: Buffer,
  ): Promise<void> {
    await db
      .with('session', (w) =>
        w
          .insertInto('sessions')
          .values({ ...session, last_used_at: session.created_at })
          .returning(['id', 'tenant_id']),
      )
      .insertInto('refresh_tokens')
      .columns(['token_hash', 'tenant_id', 'session_id', 'generation'])
      .expression((eb) =>
        eb
          .selectFrom('session')
          .select([
            sql<Buffer>`${refreshTokenHash}::bytea`.as('token_hash'),
            'session.tenant_id',
            'session.id',
            sql<number>`1`.as('generation'),
          ]),
      )
      .execute();
  },

  /**
   * Starts a signing-in user's session with its first refresh token, in one statement, only if the
   * user is still a member of the tenant and (when `passwordHash` is given) still has the password
   * that was verified. The user and the membership are share-locked until the transaction ends:
   * a password reset or change, a removal or a role change committing meanwhile waits for the
   * session, then revokes it. Answers the user with the membership's roles, or nothing when no
   * session was started.
   */
  async insertForSigner(
    db: Executor,
    session: Omit<SessionRow, 'revoked_at' | 'last_used_at' | 'created_at'> & { created_at: Date },
    refreshTokenHash: Buffer,
    passwordHash: string | null,
  ): Promise<(UserRow & { roles: string[] }) | undefined> {
    const { rows } = await sql<UserRow & { roles: string[] }>`
      with signer as (
        select u.id, u.email, u.name, u.password_hash, u.email_verified_at, u.created_at, m.roles
        from users u join memberships m on m.user_id = u.id
        where u.id = ${session.user_id} and m.tenant_id = ${session.tenant_id}
          and (${passwordHash}::text is null or u.password_hash = ${passwordHash}::text)
        for share
      ),
      started as (
        insert into sessions (id, tenant_id, user_id, user_agent, ip, created_at, last_used_at,
                              idle_expires_at, absolute_expires_at)
        select ${session.id}::uuid, ${session.tenant_id}::uuid, signer.id, ${session.user_agent}::text,
               ${session.ip}::text, ${session.created_at}::timestamptz, ${session.created_at}::timestamptz,
               ${session.idle_expires_at}::timestamptz, ${session.absolute_expires_at}::timestamptz
        from signer
        returning id, tenant_id
      ),
      first_token as (
        insert into refresh_tokens (token_hash, tenant_id, session_id, generation)
        select ${refreshTokenHash}::bytea, tenant_id, id, 1 from started
      )
      select * from signer`.execute(db);
    return rows[0];
  },

  find(db: Executor, id: string): Promise<SessionRow | undefined> {
    return db
      .selectFrom('sessions')
      .select([
        'id',
        'tenant_id',
        'user_id',
        'user_agent',
        'ip',
        'created_at',
        'last_used_at',
        'idle_expires_at',
        'absolute_expires_at',
        'revoked_at',
      ])
      .where('id', '=', id)
      .executeTakeFirst();
  },

  /** The user's live sessions in the current tenant, newest first, after `before` (keyset). */
  listActive(db: Executor, userId: string, limit: number, before: string | null): Promise<SessionRow[]> {
    let query = db
      .selectFrom('sessions')
      .select([
        'id',
        'tenant_id',
        'user_id',
        'user_agent',
        'ip',
        'created_at',
        'last_used_at',
        'idle_expires_at',
        'absolute_expires_at',
        'revoked_at',
      ])
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('idle_expires_at', '>', new Date())
      .where('absolute_expires_at', '>', new Date());
    if (before) query = query.where('id', '<', before);
    return query.orderBy('id', 'desc').limit(limit).execute();
  },

  async touch(db: Executor, id: string, now: Date, idleExpiresAt: Date): Promise<void> {
    await db
      .updateTable('sessions')
      .set({ last_used_at: now, idle_expires_at: idleExpiresAt })
      .where('id', '=', id)
      .execute();
  },

  /** Sessions of every tenant revoked after `since`, with when. */
  async revokedSince(db: Executor, since: Date) {
    return db
      .selectFrom('sessions')
      .select(['id', 'revoked_at'])
      .where('revoked_at', '>', since)
      .$narrowType<{ revoked_at: Date }>()
      .execute();
  },

  /** Revokes live sessions matching the filter; answers the ids revoked. */
  async revoke(
    db: Executor,
    filter: { id?: string; userId?: string; tenantId?: string; exceptId?: string },
    reason: string,
  ): Promise<string[]> {
    let query = db
      .updateTable('sessions')
      .set({ revoked_at: new Date(), revoked_reason: reason })
      .where('revoked_at', 'is', null);
    if (filter.id) query = query.where('id', '=', filter.id);
    if (filter.userId) query = query.where('user_id', '=', filter.userId);
    if (filter.tenantId) query = query.where('tenant_id', '=', filter.tenantId);
    if (filter.exceptId) query = query.where('id', '!=', filter.exceptId);
    const rows = await query.returning('id').execute();
    return rows.map((row) => row.id);
  },
};

export const refreshTokens = {
  async insert(
    db: Executor,
    token: { token_hash: Buffer; tenant_id: string; session_id: string; generation: number },
  ): Promise<void> {
    await db.insertInto('refresh_tokens').values(token).execute();
  },

  /** The sealed successors still kept for a retry, across tenants (for re-sealing). */
  listSealedSuccessors(db: Executor) {
    return db
      .selectFrom('refresh_tokens')
      .select(['token_hash', 'session_id', 'replacement_sealed'])
      .where('replacement_sealed', 'is not', null)
      .execute();
  },

  async setSealedSuccessor(db: Executor, tokenHash: Buffer, replacementSealed: string): Promise<void> {
    await db
      .updateTable('refresh_tokens')
      .set({ replacement_sealed: replacementSealed })
      .where('token_hash', '=', tokenHash)
      .execute();
  },

  /** The token's row, locked: two refreshes with one token are serialized. */
  findForUpdate(db: Executor, tokenHash: Buffer) {
    return db
      .selectFrom('refresh_tokens')
      .select(['session_id', 'generation', 'spent_at', 'replacement_sealed'])
      .where('token_hash', '=', tokenHash)
      .forUpdate()
      .executeTakeFirst();
  },

  async spend(db: Executor, tokenHash: Buffer, replacementSealed: string | null): Promise<void> {
    await db
      .updateTable('refresh_tokens')
      .set({ spent_at: new Date(), replacement_sealed: replacementSealed })
      .where('token_hash', '=', tokenHash)
      .execute();
  },

  /** Drops the sealed successors of a session (on revocation they must never be handed out). */
  async forgetReplacements(db: Executor, sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    await db
      .updateTable('refresh_tokens')
      .set({ replacement_sealed: null })
      .where('session_id', 'in', sessionIds)
      .where('replacement_sealed', 'is not', null)
      .execute();
  },
};

export const signingKeys = {
  list(db: Executor) {
    return db
      .selectFrom('signing_keys')
      .select(['kid', 'alg', 'public_jwk', 'private_key_sealed', 'created_at', 'retired_at', 'publish_until'])
      .where((eb) => eb.or([eb('publish_until', 'is', null), eb('publish_until', '>', new Date())]))
      .orderBy('created_at', 'desc')
      .execute();
  },

  async insert(
    db: Executor,
    key: { kid: string; alg: string; public_jwk: unknown; private_key_sealed: string; created_at: Date },
  ): Promise<void> {
    await db
      .insertInto('signing_keys')
      .values({ ...key, public_jwk: JSON.stringify(key.public_jwk) })
      .execute();
  },

  /** Every key's sealed private part, expired keys included (for re-sealing). */
  listSealed(db: Executor) {
    return db.selectFrom('signing_keys').select(['kid', 'private_key_sealed']).execute();
  },

  async setSealed(db: Executor, kid: string, privateKeySealed: string): Promise<void> {
    await db
      .updateTable('signing_keys')
      .set({ private_key_sealed: privateKeySealed })
      .where('kid', '=', kid)
      .execute();
  },

  /** Retires every signing key but `keepKid`; each stays published until `publishUntil`. */
  async retireOthers(db: Executor, keepKid: string, now: Date, publishUntil: Date): Promise<void> {
    await db
      .updateTable('signing_keys')
      .set({ retired_at: now, publish_until: publishUntil })
      .where('kid', '!=', keepKid)
      .where('retired_at', 'is', null)
      .execute();
  },
};

export const oneTimeTokens = {
  async insert(
    db: Executor,
    token: { id: string; token_hash: Buffer; purpose: 'reset' | 'verify'; user_id: string; expires_at: Date },
  ): Promise<void> {
    await db.insertInto('one_time_tokens').values(token).execute();
  },

  /** Spends a live token of the purpose at most once; answers its user, or undefined. */
  async spend(db: Executor, tokenHash: Buffer, purpose: 'reset' | 'verify'): Promise<string | undefined> {
    const row = await db
      .updateTable('one_time_tokens')
      .set({ used_at: new Date() })
      .where('token_hash', '=', tokenHash)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .where('expires_at', '>', new Date())
      .returning('user_id')
      .executeTakeFirst();
    return row?.user_id;
  },

  /** Spends every live token of the purpose for the user (a new reset makes older links void). */
  async spendAll(db: Executor, userId: string, purpose: 'reset' | 'verify'): Promise<void> {
    await db
      .updateTable('one_time_tokens')
      .set({ used_at: new Date() })
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .execute();
  },
};

/** The address's unaccepted invitations in the tenant, in id order (the order they are locked in). */
function pendingFor(db: Executor, tenantId: string, email: string) {
  return db
    .selectFrom('invitations')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where(sql<string>`lower(email)`, '=', email.toLowerCase())
    .where('accepted_at', 'is', null)
    .orderBy('id');
}

export const invitations = {
  async insert(
    db: Executor,
    invitation: {
      id: string;
      tenant_id: string;
      email: string;
      roles: string[];
      token_hash: Buffer;
      invited_by: string;
      expires_at: Date;
      created_at: Date;
    },
  ): Promise<void> {
    await db.insertInto('invitations').values(invitation).execute();
  },

  /** Accepts a live invitation at most once; answers it, or undefined. */
  accept(db: Executor, tokenHash: Buffer, userId: string) {
    return db
      .updateTable('invitations')
      .set({ accepted_at: new Date(), accepted_by: userId })
      .where('token_hash', '=', tokenHash)
      .where('accepted_at', 'is', null)
      .where('expires_at', '>', new Date())
      .returning(['id', 'tenant_id', 'email', 'roles'])
      .executeTakeFirst();
  },

  /**
   * Locks the address's pending invitations in the tenant, in id order (as endPending does):
   * acceptances of invitations to one address take turns, and never deadlock with a new invitation.
   */
  async lockPending(db: Executor, tenantId: string, email: string): Promise<void> {
    await pendingFor(db, tenantId, email).forUpdate().execute();
  },

  /** Ends the address's live invitations in the tenant at once (superseded, or answered by another). */
  async endPending(db: Executor, tenantId: string, email: string): Promise<void> {
    const now = new Date();
    await db
      .updateTable('invitations')
      .set({ expires_at: now })
      .where('id', 'in', pendingFor(db, tenantId, email).where('expires_at', '>', now).forUpdate())
      .execute();
  },

  /** The tenant's pending invitations, newest first (UUID v7 ids), before `before` (keyset). */
  listPending(db: Executor, tenantId: string, limit: number, before: string | null) {
    let query = db
      .selectFrom('invitations')
      .select(['id', 'email', 'roles', 'invited_by', 'expires_at', 'created_at'])
      .where('tenant_id', '=', tenantId)
      .where('accepted_at', 'is', null)
      .where('expires_at', '>', new Date());
    if (before) query = query.where('id', '<', before);
    return query.orderBy('id', 'desc').limit(limit).execute();
  },

  /**
   * Ends one pending invitation at once, as endPending does (the row stays, expired); answers
   * whether there was one. An acceptance holding its row lock finishes first, and this finds it accepted.
   */
  async revoke(db: Executor, tenantId: string, id: string): Promise<boolean> {
    const now = new Date();
    const row = await db
      .updateTable('invitations')
      .set({ expires_at: now })
      .where('id', '=', id)
      .where('tenant_id', '=', tenantId)
      .where('accepted_at', 'is', null)
      .where('expires_at', '>', now)
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  },

  /**
   * A live invitation as its link shows it, in one statement: the business, the address, the roles,
   * and whether the address has an account already (identities are global, like its email).
   */
  findLiveForLink(db: Executor, tokenHash: Buffer) {
    return db
      .selectFrom('invitations')
      .innerJoin('tenants', 'tenants.id', 'invitations.tenant_id')
      .select((eb) => [
        'tenants.name as business_name',
        'invitations.email',
        'invitations.roles',
        'invitations.expires_at',
        eb
          .exists(
            eb
              .selectFrom('users')
              .select('users.id')
              .where((users) =>
                users(users.fn('lower', ['users.email']), '=', users.fn('lower', ['invitations.email'])),
              ),
          )
          .$castTo<boolean>()
          .as('existing_account'),
      ])
      .where('invitations.token_hash', '=', tokenHash)
      .where('invitations.accepted_at', 'is', null)
      .where('invitations.expires_at', '>', new Date())
      .executeTakeFirst();
  },

  findLive(db: Executor, tokenHash: Buffer) {
    return db
      .selectFrom('invitations')
      .select(['id', 'tenant_id', 'email', 'roles'])
      .where('token_hash', '=', tokenHash)
      .where('accepted_at', 'is', null)
      .where('expires_at', '>', new Date())
      .executeTakeFirst();
  },
};
