import {
  permissionsOf,
  uuidv7,
  type Invitation,
  type LoginAnswer,
  type Me,
  type Membership,
  type RegisterAnswer,
  type SessionInfo,
  type TokenAnswer,
} from '@tessera/contracts';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../../platform/config';
import { resealRows, type SecretBox } from '../../platform/crypto';
import type { DB } from '../../platform/db/tables';
import { withSystem, withTenant, withTenantRead, type Tx } from '../../platform/db/tenant';
import { PostgresTimeZones } from '../../platform/db/time-zones';
import { AppError, notFound } from '../../platform/errors';
import { addEvents, SYSTEM_ACTOR, userActor } from '../../platform/events/outbox';
import type { Principal } from '../../platform/http/auth-guard';
import { decodeCursor, encodeCursor, Uuid } from '../../platform/http/schemas';
import type { Mailer } from '../../platform/mail';
import {
  rateLimitHeaders,
  type LimitOptions,
  type LimitResult,
  type RateLimiter,
} from '../../platform/rate-limit';
import type { AccessTokens } from './access-tokens';
import { DeviceTokens } from './device-tokens';
import type { SigningKeys } from './keys';
import { invitationMail, resetPasswordMail, verifyEmailMail } from './mails';
import { dummyVerify, hashPassword, passwordWeakness, verifyPassword } from './passwords';
import {
  invitations,
  memberships,
  oneTimeTokens,
  refreshTokens,
  sessions,
  users,
  type SessionRow,
  type UserRow,
} from './repository';
import type { RevocationList } from './revocation';
import type { InvitationPreview, PendingInvitation } from './schemas';
import { hashToken, newTenantToken, newToken, tenantOfToken } from './tokens';

export const RESET_TOKEN_TTL_SECONDS = 30 * 60;
export const VERIFY_TOKEN_TTL_SECONDS = 7 * 24 * 3600;
export const INVITATION_TTL_SECONDS = 7 * 24 * 3600;
/** Reset mails per address per hour: enough for a user, too few to bomb a mailbox. */
const RESET_MAILS_PER_HOUR = 5;

export interface ClientInfo {
  ip: string;
  userAgent: string | null;
}

export interface AuthServiceDeps {
  db: Kysely<DB>;
  config: Config;
  logger: Logger;
  secrets: SecretBox;
  keys: SigningKeys;
  accessTokens: AccessTokens;
  revocations: RevocationList;
  limiter: RateLimiter;
  mailer: Mailer;
}

const invalidCredentials = () => new AppError('invalid_credentials', 'The email or password is not correct');
const invalidRefresh = () => new AppError('unauthenticated', 'The refresh token is not valid or has expired');
const deadInvitation = (status?: number) =>
  new AppError('invalid_token', 'The invitation is not valid, was used, or has expired', { status });

/** A new identity needs a name; an existing one joining with an invitation keeps its own. */
const nameMissing = () =>
  new AppError('validation_failed', 'The name is empty', {
    errors: [{ path: 'name', message: 'must not be empty' }],
  });

function weakPassword(reason: string, path = 'password'): AppError {
  return new AppError('weak_password', reason, { errors: [{ path, message: reason }] });
}

function rateLimited(result: LimitResult, detail: string): AppError {
  return new AppError('rate_limited', detail, {
    headers: rateLimitHeaders(result),
    extensions: { retry_after: Math.max(1, Math.ceil(result.retryAfterMs / 1000)) },
  });
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '23505';
}

/** A session just started or refreshed: its refresh token, and when it ends if not refreshed. */
interface StartedSession {
  sessionId: string;
  refreshToken: string;
  endsAt: Date;
}

/** When a session ends unless refreshed: at its idle expiry, or its absolute one if sooner. */
function sessionEnd(idle: Date, absolute: Date): Date {
  return idle < absolute ? idle : absolute;
}

/**
 * Identity, sessions and tokens: register, login, refresh with rotation and reuse detection,
 * logout, password reset and change, email verification, invitations. Every revocation goes to
 * the sessions table and to the revocation list the access-token verifier reads.
 */
export class AuthService {
  private readonly zones = new PostgresTimeZones();
  private readonly devices: DeviceTokens;

  constructor(private readonly deps: AuthServiceDeps) {
    this.devices = new DeviceTokens(deps.secrets);
  }

  private get config(): Config {
    return this.deps.config;
  }

  private get loginLimit(): LimitOptions {
    return { limit: this.config.RATE_LIMIT_LOGIN_PER_MINUTE, windowMs: 60_000 };
  }

  // ---- register and login ----------------------------------------------------------------

  async register(
    input: {
      email: string;
      password: string;
      name?: string;
      tenant_name?: string;
      time_zone?: string;
      invitation_token?: string;
    },
    client: ClientInfo,
  ): Promise<RegisterAnswer> {
    const limit = await this.deps.limiter.consume(`register:ip:${client.ip}`, {
      limit: this.config.RATE_LIMIT_REGISTER_PER_HOUR,
      windowMs: 3_600_000,
    });
    if (!limit.allowed) throw rateLimited(limit, 'Too many registrations from this address; try again later');
    const email = input.email.trim();
    const name = input.name?.trim() ?? '';
    if (input.invitation_token === undefined && !name) throw nameMissing();
    const weakness = passwordWeakness(input.password, { email, name });
    if (weakness) throw weakPassword(weakness);

    if (input.invitation_token !== undefined)
      return this.registerWithInvitation(input.invitation_token, email, name, input.password, client);
    const tenantName = input.tenant_name?.trim();
    if (!tenantName) {
      throw new AppError(
        'validation_failed',
        'Give tenant_name to create a tenant, or invitation_token to join one',
        {
          errors: [{ path: 'tenant_name', message: 'is required without invitation_token' }],
        },
      );
    }
    const timeZone =
      input.time_zone === undefined ? undefined : await this.zones.tenantZone(this.deps.db, input.time_zone);
    if (await users.findByEmail(this.deps.db, email)) throw new AppError('email_taken');
    const passwordHash = await hashPassword(input.password);
    const tenantId = uuidv7();
    const userId = uuidv7();
    const roles = ['admin', 'user'];
    const verifyToken = newToken();
    const started = await this.inTransaction(tenantId, async (tx) => {
      await tx
        .insertInto('tenants')
        .values({ id: tenantId, name: tenantName, ...(timeZone ? { time_zone: timeZone } : {}) })
        .execute();
      const user = await this.insertUser(tx, { id: userId, email, name, password_hash: passwordHash });
      await memberships.insert(tx, tenantId, userId, roles);
      await this.addVerifyToken(tx, userId, verifyToken);
      addEvents(tx, [
        {
          type: 'auth.user.created',
          tenantId,
          actor: userActor(userId),
          data: { user_id: userId, email, name, roles },
        },
      ]);
      return { user, ...(await this.startSession(tx, tenantId, userId, client)) };
    });
    this.deps.mailer.sendLater(verifyEmailMail(this.deps.mailer, email, name, verifyToken));
    const answer = await this.tokenAnswer(started.user, tenantId, roles, started);
    return { ...answer, tenant: { id: tenantId, name: tenantName }, device_token: this.devices.issue(email) };
  }

  private async registerWithInvitation(
    token: string,
    email: string,
    name: string,
    password: string,
    client: ClientInfo,
  ): Promise<RegisterAnswer> {
    const tenantId = tenantOfToken(token);
    if (!tenantId) throw deadInvitation();
    const tokenHash = hashToken(token);
    const invitation = await withTenantRead(this.deps.db, tenantId, (tx) =>
      invitations.findLive(tx, tokenHash),
    );
    if (!invitation) throw deadInvitation();
    if (invitation.email.toLowerCase() !== email.toLowerCase()) {
      throw new AppError('invalid_token', 'The invitation was sent to another email address');
    }
    // An existing identity joins with its own password; a new one is created (the invitation mail
    // proved the address, so it starts verified).
    const existing = await users.findByEmail(this.deps.db, email);
    if (!existing && !name) throw nameMissing();
    if (existing && !(await verifyPassword(existing.password_hash, password)))
      throw new AppError('email_taken');
    const passwordHash = existing ? null : await hashPassword(password);
    const userId = existing?.id ?? uuidv7();
    const result = await this.inTransaction(tenantId, async (tx) => {
      const user =
        existing ??
        (await this.insertUser(tx, {
          id: userId,
          email,
          name,
          password_hash: passwordHash!,
          email_verified_at: new Date(),
        }));
      // A second acceptance for this address here waits for the first, then finds its membership.
      await invitations.lockPending(tx, tenantId, email);
      if (existing && (await memberships.find(tx, tenantId, userId))) throw new AppError('already_member');
      const accepted = await invitations.accept(tx, tokenHash, userId);
      if (!accepted) throw deadInvitation();
      // Joined once, the address's other invitations here are answered.
      await invitations.endPending(tx, tenantId, email);
      await this.insertMembership(tx, tenantId, userId, accepted.roles);
      // Only a new identity is a created user. An existing one joining gets no event: the contract
      // has none for a membership being added.
      if (!existing) {
        addEvents(tx, [
          {
            type: 'auth.user.created',
            tenantId,
            actor: userActor(userId),
            data: { user_id: userId, email: user.email, name: user.name, roles: accepted.roles },
          },
        ]);
      }
      const tenant = await tx
        .selectFrom('tenants')
        .select(['id', 'name'])
        .where('id', '=', tenantId)
        .executeTakeFirstOrThrow();
      return {
        user,
        roles: accepted.roles,
        tenant,
        ...(await this.startSession(tx, tenantId, userId, client)),
      };
    });
    const answer = await this.tokenAnswer(result.user, tenantId, result.roles, result);
    return { ...answer, tenant: result.tenant, device_token: this.devices.issue(email) };
  }

  async login(
    input: { email: string; password: string; tenant_id?: string; device_token?: string },
    client: ClientInfo,
  ): Promise<LoginAnswer> {
    const email = input.email.trim().toLowerCase();
    const ipKey = `login:ip:${client.ip}`;
    // A device this address signed in on before has a bucket of its own; any other attempt spends
    // from the address's, which failures elsewhere may have emptied (device-tokens.ts).
    const device = input.device_token ? this.devices.deviceOf(input.device_token, email) : null;
    const accountKey = device ? `login:device:${device}` : `login:email:${email}`;
    // Every attempt spends its unit of both buckets, in one step, before the password is checked:
    // spent only after a failure, parallel attempts would all pass the check before any of them
    // spent. A refused attempt spends nothing.
    const limits = await this.deps.limiter.consumeAll([
      { key: ipKey, options: this.loginLimit },
      { key: accountKey, options: this.loginLimit },
    ]);
    const refused = limits.filter((result) => !result.allowed);
    if (refused.length) {
      const longest = refused.reduce((a, b) => (a.retryAfterMs >= b.retryAfterMs ? a : b));
      throw rateLimited(longest, 'Too many failed sign-ins; try again later');
    }
    const user = await users.findByEmailWithMemberships(this.deps.db, email);
    const valid = user
      ? await verifyPassword(user.password_hash, input.password)
      : await dummyVerify(input.password);
    if (!user || !valid) throw invalidCredentials();
    const membership = input.tenant_id
      ? user.memberships.find((m) => m.tenant_id === input.tenant_id)
      : user.memberships[0];
    if (!membership) throw invalidCredentials();
    const tenantId = membership.tenant_id;
    // The rows were read before the slow check: a password reset or change, a removal or a role
    // change may have committed since. The session starts on the rows as they are now, locked
    // until it commits, so a later change waits for it and then revokes it.
    const started = await this.inTransaction(tenantId, (tx) =>
      this.signIn(tx, tenantId, user.id, client, user.password_hash),
    );
    if (!started) throw invalidCredentials();
    // Only failures count. The address's (or the device's) are forgiven (the soft lockout ends); the
    // IP gets back just the unit this attempt spent, not a fresh bucket: staff signing in from one
    // shop's address are not throttled by each other, and an attacker's own account cannot refill
    // the IP's budget.
    await Promise.all([
      this.deps.limiter.reset(accountKey),
      this.deps.limiter.refund(ipKey, this.loginLimit),
    ]);
    const answer = await this.tokenAnswer(started.user, tenantId, started.roles, started);
    return { ...answer, device_token: this.devices.issue(email) };
  }

  /** Seals the kept refresh successors under the current master key; answers how many moved. */
  async resealRefreshSuccessors(): Promise<number> {
    return withSystem(this.deps.db, async (tx) =>
      resealRows(
        this.deps.secrets,
        await refreshTokens.listSealedSuccessors(tx),
        (row) => ({ sealed: row.replacement_sealed!, associatedData: `refresh:${row.session_id}` }),
        (row, sealed) => refreshTokens.setSealedSuccessor(tx, row.token_hash, sealed),
      ),
    );
  }

  // ---- refresh, logout, sessions --------------------------------------------------------------

  async refresh(refreshToken: string): Promise<TokenAnswer> {
    const tenantId = tenantOfToken(refreshToken);
    if (!tenantId) throw invalidRefresh();
    const tokenHash = hashToken(refreshToken);
    const now = new Date();
    const outcome = await withTenant(this.deps.db, tenantId, async (tx) => {
      const row = await refreshTokens.findForUpdate(tx, tokenHash);
      if (!row) return { kind: 'invalid' as const };
      const session = await sessions.find(tx, row.session_id);
      if (
        !session ||
        session.revoked_at ||
        session.idle_expires_at <= now ||
        session.absolute_expires_at <= now
      ) {
        return { kind: 'invalid' as const };
      }
      if (row.spent_at) {
        const withinGrace =
          row.replacement_sealed !== null &&
          now.getTime() - row.spent_at.getTime() <= this.config.REFRESH_REUSE_GRACE_SECONDS * 1000;
        if (withinGrace) {
          const replacement = this.deps.secrets.open(row.replacement_sealed!, `refresh:${session.id}`);
          return {
            kind: 'ok' as const,
            session,
            refreshToken: replacement,
            endsAt: sessionEnd(session.idle_expires_at, session.absolute_expires_at),
            ...(await this.subjectOf(tx, session)),
          };
        }
        const revoked = await this.revokeInTx(tx, { id: session.id }, 'refresh_token_reused');
        return { kind: 'reused' as const, revoked };
      }
      const subject = await this.subjectOf(tx, session);
      if (!subject.membership) {
        const revoked = await this.revokeInTx(tx, { id: session.id }, 'membership_removed');
        return { kind: 'removed' as const, revoked };
      }
      const next = newTenantToken(tenantId);
      await refreshTokens.insert(tx, {
        token_hash: hashToken(next),
        tenant_id: tenantId,
        session_id: session.id,
        generation: row.generation + 1,
      });
      const sealed =
        this.config.REFRESH_REUSE_GRACE_SECONDS > 0
          ? this.deps.secrets.seal(next, `refresh:${session.id}`)
          : null;
      await refreshTokens.spend(tx, tokenHash, sealed);
      const idle = Math.min(
        now.getTime() + this.config.SESSION_IDLE_TTL * 1000,
        session.absolute_expires_at.getTime(),
      );
      await sessions.touch(tx, session.id, now, new Date(idle));
      return {
        kind: 'ok' as const,
        session,
        refreshToken: next,
        endsAt: sessionEnd(new Date(idle), session.absolute_expires_at),
        ...subject,
      };
    });
    switch (outcome.kind) {
      case 'invalid':
        throw invalidRefresh();
      case 'reused':
        await this.deps.revocations.revoke(outcome.revoked);
        throw new AppError(
          'refresh_token_reused',
          'This refresh token was already used; the session is revoked',
        );
      case 'removed':
        await this.deps.revocations.revoke(outcome.revoked);
        throw invalidRefresh();
      case 'ok': {
        if (!outcome.membership) throw invalidRefresh();
        return this.tokenAnswer(outcome.user, tenantId, outcome.membership.roles, {
          sessionId: outcome.session.id,
          refreshToken: outcome.refreshToken,
          endsAt: outcome.endsAt,
        });
      }
    }
  }

  /** Sessions of every tenant revoked after `since`, to refill an in-process revocation list on start. */
  async revokedSince(since: Date): Promise<{ id: string; revoked_at: Date }[]> {
    return withSystem(this.deps.db, (tx) => sessions.revokedSince(tx, since));
  }

  async logout(principal: Principal): Promise<void> {
    await this.revokeSessions(principal.tenantId, { id: principal.sessionId }, 'logout');
  }

  async me(principal: Principal): Promise<Me> {
    const user = await this.userOf(principal);
    return this.meOf(user, principal.tenantId, principal.roles, principal.sessionId);
  }

  /** The tenants the user belongs to; a cross-tenant read by nature. */
  async listTenants(principal: Principal): Promise<Membership[]> {
    const tenants = await withSystem(this.deps.db, (tx) => memberships.tenantsOfUser(tx, principal.userId));
    return tenants.map((tenant) => ({ ...tenant, current: tenant.id === principal.tenantId }));
  }

  /**
   * Moves the user to another of their tenants: a new session there (with its login event), and the
   * current one ends at once, as a logout would. A tenant the user is not in answers 404, as an
   * unknown one does.
   */
  async switchTenant(principal: Principal, tenantId: string, client: ClientInfo): Promise<TokenAnswer> {
    const user = await this.userOf(principal);
    const started = await this.inTransaction(tenantId, (tx) =>
      this.signIn(tx, tenantId, user.id, client, null),
    );
    if (!started) throw notFound('tenant');
    await this.revokeSessions(principal.tenantId, { id: principal.sessionId }, 'switched_tenant');
    return this.tokenAnswer(user, tenantId, started.roles, started);
  }

  async listSessions(
    principal: Principal,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<{ data: SessionInfo[]; next_cursor: string | null }> {
    const before = decodeCursor(page.cursor, Uuid);
    const rows = await withTenantRead(this.deps.db, principal.tenantId, (tx) =>
      sessions.listActive(tx, principal.userId, page.limit + 1, before),
    );
    const data = rows.slice(0, page.limit).map((row) => this.sessionInfo(row, principal.sessionId));
    return { data, next_cursor: rows.length > page.limit ? encodeCursor(data.at(-1)!.id) : null };
  }

  async revokeSession(principal: Principal, sessionId: string): Promise<void> {
    const found = await withTenant(this.deps.db, principal.tenantId, async (tx) => {
      const session = await sessions.find(tx, sessionId);
      if (!session || session.user_id !== principal.userId) return false;
      await this.revokeInTx(tx, { id: sessionId }, 'revoked_by_user');
      return true;
    });
    if (!found) throw notFound('session');
    await this.deps.revocations.revoke([sessionId]);
  }

  /** Revokes the user's sessions in a tenant (removal from the tenant, role reduction). */
  async revokeUserSessions(tenantId: string, userId: string, reason: string): Promise<void> {
    await this.revokeSessions(tenantId, { userId }, reason);
  }

  // ---- passwords ------------------------------------------------------------------------------

  /**
   * Starts a password reset. The answer is the same whether or not the address is known, and the
   * work runs after the answer, so neither the status nor the time tells.
   */
  forgotPassword(email: string): void {
    setImmediate(() => {
      this.sendResetMail(email.trim()).catch((error: unknown) =>
        this.deps.logger.error({ err: error }, 'password reset mail failed'),
      );
    });
  }

  private async sendResetMail(email: string): Promise<void> {
    const user = await users.findByEmail(this.deps.db, email);
    if (!user) return;
    const limit = await this.deps.limiter.consume(`reset-mail:${user.id}`, {
      limit: RESET_MAILS_PER_HOUR,
      windowMs: 3_600_000,
    });
    if (!limit.allowed) {
      this.deps.logger.warn(
        { user_id: user.id },
        'password reset mail not sent: too many asked for this hour',
      );
      return;
    }
    const token = newToken();
    await withSystem(this.deps.db, async (tx) => {
      await oneTimeTokens.spendAll(tx, user.id, 'reset');
      await oneTimeTokens.insert(tx, {
        id: uuidv7(),
        token_hash: hashToken(token),
        purpose: 'reset',
        user_id: user.id,
        expires_at: new Date(Date.now() + RESET_TOKEN_TTL_SECONDS * 1000),
      });
    });
    await this.deps.mailer.send(
      resetPasswordMail(this.deps.mailer, user.email, token, RESET_TOKEN_TTL_SECONDS / 60),
    );
  }

  async resetPassword(token: string, password: string): Promise<void> {
    const weakness = passwordWeakness(password);
    if (weakness) throw weakPassword(weakness);
    const passwordHash = await hashPassword(password);
    // A user's password and sessions span tenants: this is global work.
    const result = await withSystem(this.deps.db, async (tx) => {
      const userId = await oneTimeTokens.spend(tx, hashToken(token), 'reset');
      if (!userId) return null;
      const user = await users.findById(tx, userId);
      // Thrown, not returned: the rollback leaves the link unspent, to be used with a better password.
      if (user && passwordWeakness(password, { email: user.email, name: user.name }))
        throw weakPassword('The password must not be your email or name');
      await users.setPassword(tx, userId, passwordHash);
      // The reset link reached the mailbox: the address is proven.
      await users.markEmailVerified(tx, userId);
      const revoked = await this.revokeInTx(tx, { userId }, 'password_reset');
      return { revoked, email: user?.email ?? '' };
    });
    if (!result) throw new AppError('invalid_token', 'The reset link is not valid, was used, or has expired');
    await this.deps.revocations.revoke(result.revoked);
    // The owner proved control of the mailbox: failed-login throttling for the address starts over.
    await this.deps.limiter.reset(`login:email:${result.email.toLowerCase()}`);
  }

  async changePassword(principal: Principal, currentPassword: string, newPassword: string): Promise<void> {
    const user = await this.userOf(principal);
    const emailKey = `login:email:${user.email.toLowerCase()}`;
    // Spent before the check and given back once the password is proven, as in login: parallel
    // guesses cannot all pass the check.
    const limit = await this.deps.limiter.consume(emailKey, this.loginLimit);
    if (!limit.allowed) throw rateLimited(limit, 'Too many wrong passwords; try again later');
    if (!(await verifyPassword(user.password_hash, currentPassword)))
      throw new AppError('invalid_credentials', 'The current password is not correct');
    await this.deps.limiter.refund(emailKey, this.loginLimit);
    // Saving the same password again would change nothing but sign every other device out.
    if (newPassword === currentPassword) {
      throw new AppError('validation_failed', 'The new password is the current password', {
        errors: [{ path: 'new_password', message: 'must differ from the current password' }],
      });
    }
    const weakness = passwordWeakness(newPassword, { email: user.email, name: user.name });
    if (weakness) throw weakPassword(weakness, 'new_password');
    const passwordHash = await hashPassword(newPassword);
    const revoked = await withSystem(this.deps.db, async (tx) => {
      await users.setPassword(tx, user.id, passwordHash);
      await oneTimeTokens.spendAll(tx, user.id, 'reset');
      return this.revokeInTx(tx, { userId: user.id, exceptId: principal.sessionId }, 'password_changed');
    });
    await this.deps.revocations.revoke(revoked);
  }

  // ---- email verification -----------------------------------------------------------------

  async verifyEmail(token: string): Promise<void> {
    const verified = await withSystem(this.deps.db, async (tx) => {
      const userId = await oneTimeTokens.spend(tx, hashToken(token), 'verify');
      if (!userId) return false;
      await users.markEmailVerified(tx, userId);
      return true;
    });
    if (!verified)
      throw new AppError('invalid_token', 'The verification link is not valid, was used, or has expired');
  }

  async resendVerification(principal: Principal): Promise<void> {
    const user = await users.findById(this.deps.db, principal.userId);
    if (!user || user.email_verified_at) return;
    const limit = await this.deps.limiter.consume(`verify-mail:${user.id}`, {
      limit: RESET_MAILS_PER_HOUR,
      windowMs: 3_600_000,
    });
    if (!limit.allowed) throw rateLimited(limit, 'Too many verification mails; try again later');
    const token = newToken();
    await withSystem(this.deps.db, async (tx) => {
      await oneTimeTokens.spendAll(tx, user.id, 'verify');
      await this.addVerifyToken(tx, user.id, token);
    });
    this.deps.mailer.sendLater(verifyEmailMail(this.deps.mailer, user.email, user.name, token));
  }

  // ---- invitations --------------------------------------------------------------------------

  /**
   * An operator's way in (the CLI's create-user): adds a member with the given roles to a tenant,
   * creating the identity if the address is new (verified, since an operator vouches for it). An
   * existing identity keeps its own password.
   */
  async addMember(
    tenantId: string,
    input: { email: string; name: string; password: string; roles: string[] },
  ): Promise<{ user_id: string; created: boolean }> {
    const email = input.email.trim();
    const roles = [...new Set(input.roles)];
    const existing = await users.findByEmail(this.deps.db, email);
    if (!existing) {
      const weakness = passwordWeakness(input.password, { email, name: input.name });
      if (weakness) throw weakPassword(weakness);
    }
    const passwordHash = existing ? null : await hashPassword(input.password);
    const userId = existing?.id ?? uuidv7();
    await withTenant(this.deps.db, tenantId, async (tx) => {
      const tenant = await tx
        .selectFrom('tenants')
        .select('id')
        .where('id', '=', tenantId)
        .executeTakeFirst();
      if (!tenant) throw notFound('tenant');
      if (existing && (await memberships.find(tx, tenantId, userId))) throw new AppError('already_member');
      const user =
        existing ??
        (await this.insertUser(tx, {
          id: userId,
          email,
          name: input.name.trim(),
          password_hash: passwordHash!,
          email_verified_at: new Date(),
        }));
      await this.insertMembership(tx, tenantId, userId, roles);
      // A member now: the address's invitations here would only lead to already_member.
      await invitations.endPending(tx, tenantId, email);
      // As with an invitation: an event only for a new identity, none for an existing one joining.
      if (!existing) {
        addEvents(tx, [
          {
            type: 'auth.user.created',
            tenantId,
            actor: SYSTEM_ACTOR,
            data: { user_id: userId, email: user.email, name: user.name, roles },
          },
        ]);
      }
    });
    return { user_id: userId, created: !existing };
  }

  /**
   * What an invitation link shows before it is used, spending nothing: the business, the address,
   * the roles, and whether the address has an account already (the invitee then joins with its
   * password instead of choosing one). Every link that cannot be used now (never issued, used,
   * revoked, superseded, expired, malformed) answers alike, 404 `invalid_token`; a well-formed one
   * costs the same one query by its hash, found or not: a dead link does not tell whether it ever worked.
   */
  async invitationPreview(token: string, client: ClientInfo): Promise<InvitationPreview> {
    const ipKey = `invitation:ip:${client.ip}`;
    // Spent before the lookup and given back for a live link, as a login is: the bucket counts dead
    // links only, so an invitee reloading a good one is never held up.
    const limit = await this.deps.limiter.consume(ipKey, this.loginLimit);
    if (!limit.allowed) throw rateLimited(limit, 'Too many invitation links tried; try again later');
    const tenantId = tenantOfToken(token);
    const invitation = tenantId
      ? await withTenantRead(this.deps.db, tenantId, (tx) =>
          invitations.findLiveForLink(tx, hashToken(token)),
        )
      : undefined;
    if (!invitation) throw deadInvitation(404);
    await this.deps.limiter.refund(ipKey, this.loginLimit);
    return { ...invitation, expires_at: invitation.expires_at.toISOString() };
  }

  /** Invites an address into the caller's tenant with the given roles; mails a single-use link. */
  async invite(principal: Principal, input: { email: string; roles: string[] }): Promise<Invitation> {
    const email = input.email.trim();
    const roles = [...new Set(input.roles)];
    const token = newTenantToken(principal.tenantId);
    const now = new Date();
    const { invitation, tenantName, inviter } = await withTenant(
      this.deps.db,
      principal.tenantId,
      async (tx) => {
        const member = await tx
          .selectFrom('memberships')
          .innerJoin('users', 'users.id', 'memberships.user_id')
          .select('users.id')
          .where((eb) => eb(eb.fn('lower', ['users.email']), '=', email.toLowerCase()))
          .executeTakeFirst();
        if (member)
          throw new AppError('already_member', 'This address already belongs to a member of the tenant');
        const row = {
          id: uuidv7(),
          tenant_id: principal.tenantId,
          email,
          roles,
          token_hash: hashToken(token),
          invited_by: principal.userId,
          expires_at: new Date(now.getTime() + INVITATION_TTL_SECONDS * 1000),
          created_at: now,
        };
        // The latest invitation is the one that counts: older pending ones stop working.
        await invitations.endPending(tx, principal.tenantId, email);
        await invitations.insert(tx, row);
        const tenant = await tx
          .selectFrom('tenants')
          .select('name')
          .where('id', '=', principal.tenantId)
          .executeTakeFirstOrThrow();
        const inviterRow = await users.findById(tx, principal.userId);
        return { invitation: row, tenantName: tenant.name, inviter: inviterRow?.name ?? principal.email };
      },
    );
    this.deps.mailer.sendLater(
      invitationMail(this.deps.mailer, email, tenantName, inviter, token, INVITATION_TTL_SECONDS / 86_400),
    );
    return {
      id: invitation.id,
      email: invitation.email,
      roles: invitation.roles,
      expires_at: invitation.expires_at.toISOString(),
      created_at: invitation.created_at.toISOString(),
    };
  }

  /** The tenant's pending invitations (neither accepted nor expired), newest first. */
  async pendingInvitations(
    principal: Principal,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<{ data: PendingInvitation[]; next_cursor: string | null }> {
    const before = decodeCursor(page.cursor, Uuid);
    const rows = await withTenantRead(this.deps.db, principal.tenantId, (tx) =>
      invitations.listPending(tx, principal.tenantId, page.limit + 1, before),
    );
    const data = rows.slice(0, page.limit).map((row) => ({
      id: row.id,
      email: row.email,
      roles: row.roles,
      invited_by: row.invited_by,
      expires_at: row.expires_at.toISOString(),
      created_at: row.created_at.toISOString(),
    }));
    return { data, next_cursor: rows.length > page.limit ? encodeCursor(data.at(-1)!.id) : null };
  }

  /** Revokes a pending invitation: its token stops working at once. */
  async revokeInvitation(principal: Principal, invitationId: string): Promise<void> {
    const revoked = await withTenant(this.deps.db, principal.tenantId, (tx) =>
      invitations.revoke(tx, principal.tenantId, invitationId),
    );
    if (!revoked) throw notFound('invitation');
  }

  /** Ends the address's pending invitations to the tenant, in the caller's transaction (a removal). */
  async cancelInvitations(tx: Tx, tenantId: string, email: string): Promise<void> {
    await invitations.endPending(tx, tenantId, email);
  }

  // ---- keys ---------------------------------------------------------------------------------

  jwks() {
    return this.deps.keys.jwks();
  }

  /** Rotates the access-token signing key (old keys stay published until their tokens expire). */
  rotateSigningKey(): Promise<string> {
    return this.deps.keys.rotate();
  }

  // ---- helpers ------------------------------------------------------------------------------

  private inTransaction<T>(tenantId: string, work: (tx: Tx) => Promise<T>): Promise<T> {
    return withTenant(this.deps.db, tenantId, work);
  }

  private async insertUser(
    tx: Tx,
    user: { id: string; email: string; name: string; password_hash: string; email_verified_at?: Date | null },
  ): Promise<UserRow> {
    try {
      // Two registrations racing for one address: the unique index decides, the loser gets 409.
      return await users.insert(tx, user);
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('email_taken');
      throw error;
    }
  }

  private async insertMembership(tx: Tx, tenantId: string, userId: string, roles: string[]): Promise<void> {
    try {
      // Two ways in racing for one user and tenant (an invitation, the operator's): the loser gets 409.
      await memberships.insert(tx, tenantId, userId, roles);
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('already_member');
      throw error;
    }
  }

  private async addVerifyToken(tx: Tx, userId: string, token: string): Promise<void> {
    await oneTimeTokens.insert(tx, {
      id: uuidv7(),
      token_hash: hashToken(token),
      purpose: 'verify',
      user_id: userId,
      expires_at: new Date(Date.now() + VERIFY_TOKEN_TTL_SECONDS * 1000),
    });
  }

  /** The principal's user; one deleted since the token was issued is no longer signed in. */
  private async userOf(principal: Principal): Promise<UserRow> {
    const user = await users.findById(this.deps.db, principal.userId);
    if (!user) throw new AppError('unauthenticated', 'The user no longer exists');
    return user;
  }

  /** A session started by signing in (a login or a switch of tenant), with its login event. */
  /**
   * Starts a session for a user signing in (a login, a switch of tenant), in the caller's
   * transaction, on their membership and, for a login, the password that was verified, as they
   * are now (`sessions.insertForSigner`); announces the login. Null when either is gone.
   */
  private async signIn(
    tx: Tx,
    tenantId: string,
    userId: string,
    client: ClientInfo,
    verifiedPasswordHash: string | null,
  ): Promise<(StartedSession & { user: UserRow; roles: string[] }) | null> {
    const { row, started } = this.newSession(tenantId, userId, client);
    const signer = await sessions.insertForSigner(
      tx,
      row,
      hashToken(started.refreshToken),
      verifiedPasswordHash,
    );
    if (!signer) return null;
    addEvents(tx, [
      {
        type: 'auth.user.login',
        tenantId,
        actor: userActor(userId),
        data: { user_id: userId, session_id: started.sessionId },
      },
    ]);
    const { roles, ...user } = signer;
    return { ...started, user, roles };
  }

  private async startSession(
    tx: Tx,
    tenantId: string,
    userId: string,
    client: ClientInfo,
  ): Promise<StartedSession> {
    const { row, started } = this.newSession(tenantId, userId, client);
    await sessions.insertWithRefreshToken(tx, row, hashToken(started.refreshToken));
    return started;
  }

  /** A new session's row, and what its start answers: its id, its first refresh token, its end. */
  private newSession(tenantId: string, userId: string, client: ClientInfo) {
    const now = new Date();
    const absolute = now.getTime() + this.config.REFRESH_TOKEN_TTL * 1000;
    const idle = Math.min(now.getTime() + this.config.SESSION_IDLE_TTL * 1000, absolute);
    const sessionId = uuidv7(now.getTime());
    const refreshToken = newTenantToken(tenantId);
    const row = {
      id: sessionId,
      tenant_id: tenantId,
      user_id: userId,
      user_agent: client.userAgent?.slice(0, 500) ?? null,
      ip: client.ip,
      created_at: now,
      idle_expires_at: new Date(idle),
      absolute_expires_at: new Date(absolute),
    };
    const started: StartedSession = {
      sessionId,
      refreshToken,
      endsAt: sessionEnd(new Date(idle), new Date(absolute)),
    };
    return { row, started };
  }

  private async subjectOf(tx: Tx, session: SessionRow) {
    const user = await users.findById(tx, session.user_id);
    if (!user) throw invalidRefresh();
    const membership = await memberships.find(tx, session.tenant_id, session.user_id);
    return { user, membership };
  }

  /** Revokes sessions in the current transaction and forgets their sealed refresh successors. */
  private async revokeInTx(
    tx: Tx,
    filter: { id?: string; userId?: string; exceptId?: string },
    reason: string,
  ): Promise<string[]> {
    const revoked = await sessions.revoke(tx, filter, reason);
    await refreshTokens.forgetReplacements(tx, revoked);
    return revoked;
  }

  private async revokeSessions(
    tenantId: string,
    filter: { id?: string; userId?: string; exceptId?: string },
    reason: string,
  ): Promise<void> {
    const revoked = await withTenant(this.deps.db, tenantId, (tx) => this.revokeInTx(tx, filter, reason));
    await this.deps.revocations.revoke(revoked);
  }

  private async tokenAnswer(
    user: UserRow,
    tenantId: string,
    roles: string[],
    session: StartedSession,
  ): Promise<TokenAnswer> {
    const issued = await this.deps.accessTokens.issue(
      { userId: user.id, tenantId, email: user.email, roles, sessionId: session.sessionId },
      session.endsAt,
    );
    return {
      access_token: issued.token,
      refresh_token: session.refreshToken,
      token_type: 'Bearer',
      expires_in: issued.expiresIn,
      user: this.meOf(user, tenantId, roles, session.sessionId),
    };
  }

  private meOf(user: UserRow, tenantId: string, roles: string[], sessionId: string): Me {
    return {
      id: user.id,
      email: user.email,
      name: user.name,
      email_verified: user.email_verified_at !== null,
      tenant_id: tenantId,
      roles,
      permissions: permissionsOf(roles),
      session_id: sessionId,
      created_at: user.created_at.toISOString(),
    };
  }

  private sessionInfo(row: SessionRow, currentId: string): SessionInfo {
    return {
      id: row.id,
      created_at: row.created_at.toISOString(),
      last_used_at: row.last_used_at.toISOString(),
      expires_at: new Date(
        Math.min(row.idle_expires_at.getTime(), row.absolute_expires_at.getTime()),
      ).toISOString(),
      user_agent: row.user_agent,
      ip: row.ip,
      current: row.id === currentId,
    };
  }
}
