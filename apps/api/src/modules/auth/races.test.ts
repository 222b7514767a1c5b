import { uuidv7 } from '@tessera/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app';
import {
  addMember,
  bearer,
  mailedToken,
  registerTenant,
  TEST_PASSWORD,
  type TestTenant,
} from '../../../test/support/auth';
import { lockWaiters, until } from '../../../test/support/locks';
import { serviceAvailable } from '../../../test/support/services';
import type { AuthModule } from './index';
import { invitations, memberships, sessions, users } from './repository';
import { hashToken, newTenantToken } from './tokens';

const postgresUp = await serviceAvailable('postgres');
const NEW_PASSWORD = 'a brand new passphrase 42';

/**
 * Races between a sign-in (or an acceptance) and a change committed by someone else, made
 * deterministic: the change is run at a chosen point of the flow through a spy on the repository,
 * and the flow goes on once the change has finished or is waiting on a lock in PostgreSQL.
 */
describe.runIf(postgresUp)('auth: races with sign-in and invitations', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_LOGIN_PER_MINUTE: '1000' } });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url, payload, headers });
  const signIn = (email: string) => post('/auth/login', { email, password: TEST_PASSWORD });
  const me = (accessToken: string) => t.app.inject({ url: '/auth/me', headers: bearer(accessToken) });
  const changePassword = (admin: TestTenant) =>
    post(
      '/auth/change-password',
      { current_password: TEST_PASSWORD, new_password: NEW_PASSWORD },
      admin.auth,
    );
  const removeMember = (admin: TestTenant, userId: string) =>
    t.app.inject({ method: 'DELETE', url: `/tenants/current/users/${userId}`, headers: admin.auth });

  const liveSessions = async (userId: string) =>
    (
      await t.platform.db
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .execute()
    ).map((row) => row.id);

  /** Whether some statement of this test's database waits on a lock. */
  const someoneWaitsOnLock = async () => (await lockWaiters(t.platform.db)) > 0;

  /** Starts work and resolves once it has finished or waits on a lock (it is then left running). */
  const runUntilDoneOrBlocked = async <T>(work: () => Promise<T>): Promise<{ outcome: Promise<T> }> => {
    let settled = false;
    const outcome = work().finally(() => {
      settled = true;
    });
    await until(async () => settled || (await someoneWaitsOnLock()));
    // Wrapped: an async function answering the promise itself would wait for it.
    return { outcome };
  };

  /** Runs `between` once login has read the user and memberships, before it checks the password. */
  const afterLoginRead = (between: () => Promise<unknown>) => {
    const read = users.findByEmailWithMemberships.bind(users);
    vi.spyOn(users, 'findByEmailWithMemberships').mockImplementationOnce(async (db, email) => {
      const row = await read(db, email);
      await between();
      return row;
    });
  };

  /** Runs `concurrent` while login's session transaction is still open; answers its outcome. */
  const whileSessionOpen = <T>(concurrent: () => Promise<T>) => {
    const insert = sessions.insertForSigner.bind(sessions);
    let outcome: Promise<T> | undefined;
    vi.spyOn(sessions, 'insertForSigner').mockImplementationOnce(async (...args) => {
      const signer = await insert(...args);
      ({ outcome } = await runUntilDoneOrBlocked(concurrent));
      return signer;
    });
    return () => outcome!;
  };

  it('a password changed while a login checks the old one answers 401 and starts no session', async () => {
    const admin = await registerTenant(t);
    afterLoginRead(async () => expect((await changePassword(admin)).statusCode).toBe(204));
    const login = await signIn(admin.user.email);
    expect(login.statusCode).toBe(401);
    expect(login.json().code).toBe('invalid_credentials');
    expect(await liveSessions(admin.user.id)).toEqual([admin.user.session_id]);
    expect((await post('/auth/login', { email: admin.user.email, password: NEW_PASSWORD })).statusCode).toBe(
      200,
    );
  });

  it('a password change committing while the session is being created revokes that session', async () => {
    const admin = await registerTenant(t);
    const changed = whileSessionOpen(() => changePassword(admin));
    const login = await signIn(admin.user.email);
    // The change waited for the login, then revoked the session it started with the others.
    expect((await changed()).statusCode).toBe(204);
    expect(login.statusCode).toBe(200);
    expect((await me(login.json().access_token)).statusCode).toBe(401);
    expect(await liveSessions(admin.user.id)).toEqual([admin.user.session_id]);
  });

  it('a member removed while their login checks the password gets no session', async () => {
    const admin = await registerTenant(t);
    const member = await addMember(t, admin, ['staff']);
    afterLoginRead(async () => expect((await removeMember(admin, member.user.id)).statusCode).toBe(204));
    const login = await signIn(member.user.email);
    expect(login.statusCode).toBe(401);
    expect(login.json().code).toBe('invalid_credentials');
    expect(await liveSessions(member.user.id)).toEqual([]);
  });

  it('a member demoted while their login checks the password signs in with the new roles only', async () => {
    const admin = await registerTenant(t);
    const member = await addMember(t, admin, ['manager']);
    afterLoginRead(async () => {
      const demoted = await t.app.inject({
        method: 'PATCH',
        url: `/tenants/current/users/${member.user.id}`,
        headers: admin.auth,
        payload: { roles: ['user'] },
      });
      expect(demoted.statusCode).toBe(200);
    });
    const login = await signIn(member.user.email);
    expect(login.statusCode).toBe(200);
    expect(login.json().user.roles).toEqual(['user']);
    const current = await me(login.json().access_token);
    expect(current.statusCode).toBe(200);
    expect(current.json().roles).toEqual(['user']);
  });

  it('a removal committing while the session is being created revokes that session', async () => {
    const admin = await registerTenant(t);
    const member = await addMember(t, admin, ['staff']);
    const removed = whileSessionOpen(() => removeMember(admin, member.user.id));
    const login = await signIn(member.user.email);
    expect((await removed()).statusCode).toBe(204);
    expect(login.statusCode).toBe(200);
    expect((await me(login.json().access_token)).statusCode).toBe(401);
    expect(await liveSessions(member.user.id)).toEqual([]);
  });

  it('an existing user accepting two invitations to one tenant at once joins once; the other gets 409', async () => {
    const home = await registerTenant(t);
    const admin = await registerTenant(t);
    const email = home.user.email;
    const invited = await post('/tenants/current/invitations', { email, roles: ['staff'] }, admin.auth);
    expect(invited.statusCode).toBe(201);
    const first = await mailedToken(t, email, '/accept-invitation');
    // A second live invitation, as two invitations sent at the same moment leave.
    const second = newTenantToken(admin.tenant.id);
    await t.platform.db
      .insertInto('invitations')
      .values({
        id: uuidv7(),
        tenant_id: admin.tenant.id,
        email,
        roles: ['manager'],
        token_hash: hashToken(second),
        invited_by: admin.user.id,
        expires_at: new Date(Date.now() + 3_600_000),
        created_at: new Date(),
      })
      .execute();

    // Each acceptance goes on past its checks once both are there, or once one waits on the other.
    const accept = invitations.accept.bind(invitations);
    let arrived = 0;
    vi.spyOn(invitations, 'accept').mockImplementation(async (...args) => {
      arrived += 1;
      await until(async () => arrived === 2 || (await someoneWaitsOnLock()));
      return accept(...args);
    });
    const join = (token: string) =>
      post('/auth/register', { email, password: TEST_PASSWORD, name: 'Ignored', invitation_token: token });
    const answers = await Promise.all([join(first), join(second)]);

    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([201, 409]);
    expect(answers.find((answer) => answer.statusCode === 409)!.json().code).toBe('already_member');
    const joined = await t.platform.db
      .selectFrom('memberships')
      .select('user_id')
      .where('tenant_id', '=', admin.tenant.id)
      .where('user_id', '=', home.user.id)
      .execute();
    expect(joined).toHaveLength(1);
  });

  // The operator's create-user and an invitation do not take turns: the unique key decides.
  it('two ways in racing for one existing user and tenant: one joins, the other gets 409', async () => {
    const home = await registerTenant(t);
    const admin = await registerTenant(t);
    const invited = await post(
      '/tenants/current/invitations',
      { email: home.user.email, roles: ['staff'] },
      admin.auth,
    );
    expect(invited.statusCode).toBe(201);
    const token = await mailedToken(t, home.user.email, '/accept-invitation');
    // Both pass their checks before either inserts the membership.
    const insert = memberships.insert.bind(memberships);
    let arrived = 0;
    vi.spyOn(memberships, 'insert').mockImplementation(async (...args) => {
      arrived += 1;
      await until(() => arrived === 2);
      return insert(...args);
    });
    const auth = t.modules.list.find((module) => module.name === 'auth') as AuthModule;
    const outcomes = await Promise.all([
      auth.service
        .addMember(admin.tenant.id, {
          email: home.user.email,
          name: 'Ignored',
          password: 'not used for an existing identity',
          roles: ['manager'],
        })
        .then(
          () => 'joined',
          (error: { code?: string }) => error.code,
        ),
      post('/auth/register', {
        email: home.user.email,
        password: TEST_PASSWORD,
        name: 'Ignored',
        invitation_token: token,
      }).then((answer) => (answer.statusCode === 201 ? 'joined' : answer.json<{ code: string }>().code)),
    ]);
    expect(outcomes.sort()).toEqual(['already_member', 'joined']);
  });
});
