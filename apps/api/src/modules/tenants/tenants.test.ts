import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app';
import {
  addMember,
  bearer,
  login,
  mailedToken,
  registerTenant,
  TEST_PASSWORD,
  tokenInLink,
  uniqueEmail,
  type TestTenant,
} from '../../../test/support/auth';
import { serviceAvailable } from '../../../test/support/services';
import { startSmtpServer, type TestSmtpServer } from '../../../test/support/smtp';
import type { AuthModule } from '../auth';

const postgresUp = await serviceAvailable('postgres');

describe.runIf(postgresUp)('tenants: invitations over SMTP', () => {
  let t: TestApp;
  let smtp: TestSmtpServer;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await createTestApp({ env: { SMTP_URL: smtp.url, PUBLIC_URL: 'https://shop.example.test' } });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  const invite = (auth: Record<string, string>, email: string, roles: string[]) =>
    t.app.inject({
      method: 'POST',
      url: '/tenants/current/invitations',
      headers: auth,
      payload: { email, roles },
    });
  const join = (payload: object) => t.app.inject({ method: 'POST', url: '/auth/register', payload });
  const invitationToken = async (email: string) =>
    tokenInLink(
      (await smtp.waitFor(email, (m) => m.text.includes('/accept-invitation'))).text,
      '/accept-invitation',
    )!;

  it('mails a single-use invitation; registering with it joins the tenant with the roles', async () => {
    const admin = await registerTenant(t, { tenant_name: 'Corner Shop' });
    const email = uniqueEmail('clerk');
    const invited = await invite(admin.auth, email, ['staff']);
    expect(invited.statusCode).toBe(201);
    expect(invited.json()).toMatchObject({ id: expect.any(String), email, roles: ['staff'] });
    expect(new Date(invited.json().expires_at).getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    const mail = await smtp.waitFor(email, (m) => m.text.includes('/accept-invitation'));
    expect(mail.subject).toContain('Corner Shop');
    expect(mail.html).toContain('https://shop.example.test/accept-invitation?token=');
    const token = tokenInLink(mail.text, '/accept-invitation')!;

    const joined = await join({ email, password: TEST_PASSWORD, name: 'Clerk', invitation_token: token });
    expect(joined.statusCode).toBe(201);
    expect(joined.json()).toMatchObject({
      tenant: { id: admin.tenant.id, name: 'Corner Shop' },
      user: { email, roles: ['staff'], tenant_id: admin.tenant.id, email_verified: true },
    });
    const again = await join({
      email: uniqueEmail(),
      password: TEST_PASSWORD,
      name: 'Other',
      invitation_token: token,
    });
    expect(again.statusCode).toBe(400);
    expect(again.json().code).toBe('invalid_token');

    const users = await t.app.inject({ url: '/tenants/current/users', headers: admin.auth });
    expect(
      users
        .json()
        .data.map((u: { email: string }) => u.email)
        .sort(),
    ).toEqual([admin.user.email, email].sort());
  });

  it('refuses an invitation for another address, an expired one, and a forged one', async () => {
    const admin = await registerTenant(t);
    const email = uniqueEmail('invitee');
    await invite(admin.auth, email, ['user']);
    const token = await invitationToken(email);
    const other = await join({
      email: uniqueEmail(),
      password: TEST_PASSWORD,
      name: 'X',
      invitation_token: token,
    });
    expect(other.statusCode).toBe(400);
    expect(other.json().code).toBe('invalid_token');
    const forged = await join({
      email,
      password: TEST_PASSWORD,
      name: 'X',
      invitation_token: `${token.split('.')[0]}.${'B'.repeat(43)}`,
    });
    expect(forged.statusCode).toBe(400);
    await t.platform.db
      .updateTable('invitations')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('email', '=', email)
      .execute();
    const expired = await join({ email, password: TEST_PASSWORD, name: 'X', invitation_token: token });
    expect(expired.statusCode).toBe(400);
    expect(expired.json().code).toBe('invalid_token');
  });

  it('an existing user joins a second tenant with their own password and picks it at login', async () => {
    const first = await registerTenant(t);
    const second = await registerTenant(t);
    await invite(second.auth, first.user.email, ['manager']);
    const token = await invitationToken(first.user.email);
    const wrong = await join({
      email: first.user.email,
      password: 'not the password',
      name: 'X',
      invitation_token: token,
    });
    expect(wrong.statusCode).toBe(409);
    const joined = await join({
      email: first.user.email,
      password: TEST_PASSWORD,
      name: 'ignored',
      invitation_token: token,
    });
    expect(joined.statusCode).toBe(201);
    expect(joined.json().user).toMatchObject({
      id: first.user.id,
      tenant_id: second.tenant.id,
      roles: ['manager'],
    });
    const intoSecond = await login(t, first.user.email, TEST_PASSWORD, second.tenant.id);
    expect(intoSecond.user.tenant_id).toBe(second.tenant.id);
    const byDefault = await login(t, first.user.email);
    expect(byDefault.user.tenant_id).toBe(first.tenant.id);
    const notMember = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: {
        email: first.user.email,
        password: TEST_PASSWORD,
        tenant_id: '0190a0a0-0000-7000-8000-000000000000',
      },
    });
    expect(notMember.statusCode).toBe(401);
    const duplicate = await invite(second.auth, first.user.email, ['staff']);
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.json().code).toBe('already_member');
  });

  it('validates invitation roles', async () => {
    const admin = await registerTenant(t);
    for (const roles of [[], ['owner'], ['staff', 'staff']]) {
      const response = await invite(admin.auth, uniqueEmail(), roles);
      expect(response.statusCode).toBe(400);
      expect(response.json().code).toBe('validation_failed');
    }
  });
});

describe.runIf(postgresUp)('tenants: administration', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('GET /tenants/current answers the tenant to an admin, 403 to others', async () => {
    const admin = await registerTenant(t, { tenant_name: 'Bakery' });
    const tenant = await t.app.inject({ url: '/tenants/current', headers: admin.auth });
    expect(tenant.statusCode).toBe(200);
    expect(tenant.json()).toMatchObject({ id: admin.tenant.id, name: 'Bakery', time_zone: 'UTC' });
    const manager = await addMember(t, admin, ['manager']);
    const refused = await t.app.inject({ url: '/tenants/current/users', headers: manager.auth });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('forbidden');
  });

  it('PATCH /tenants/current sets the name and an IANA time zone; managers may not', async () => {
    const admin = await registerTenant(t, { tenant_name: 'Deli' });
    const patch = (auth: Record<string, string>, payload: Record<string, string>) =>
      t.app.inject({ method: 'PATCH', url: '/tenants/current', headers: auth, payload });
    const changed = await patch(admin.auth, { name: 'Deli & Co', time_zone: 'Asia/Kathmandu' });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json()).toMatchObject({
      id: admin.tenant.id,
      name: 'Deli & Co',
      time_zone: 'Asia/Kathmandu',
    });
    const bad = await patch(admin.auth, { time_zone: 'Mars/Olympus' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors).toEqual([{ path: 'time_zone', message: expect.any(String) }]);
    expect((await patch(admin.auth, {})).statusCode).toBe(400);
    const manager = await addMember(t, admin, ['manager']);
    expect((await patch(manager.auth, { time_zone: 'UTC' })).statusCode).toBe(403);
    const tenant = await t.app.inject({ url: '/tenants/current', headers: admin.auth });
    expect(tenant.json().time_zone).toBe('Asia/Kathmandu');
  });

  it('PATCH /tenants/current takes only zones both PostgreSQL and Node know, in their spelling', async () => {
    const admin = await registerTenant(t, { tenant_name: 'Tea room' });
    const patch = (payload: Record<string, string>) =>
      t.app.inject({ method: 'PATCH', url: '/tenants/current', headers: admin.auth, payload });
    // Node's ICU still knows US/Pacific-New (tzdata dropped it in 2020): PostgreSQL does not.
    expect(() => new Intl.DateTimeFormat('en', { timeZone: 'US/Pacific-New' })).not.toThrow();
    // PostgreSQL knows `localtime` and `posixrules`; ICU does not.
    for (const zone of ['US/Pacific-New', 'localtime', 'posixrules', 'Mars/Olympus']) {
      const refused = await patch({ time_zone: zone });
      expect(refused.statusCode, zone).toBe(400);
      expect(refused.headers['content-type']).toContain('application/problem+json');
      expect(refused.json()).toMatchObject({
        code: 'validation_failed',
        errors: [{ path: 'time_zone', message: expect.any(String) }],
      });
    }
    expect((await t.app.inject({ url: '/tenants/current', headers: admin.auth })).json().time_zone).toBe(
      'UTC',
    );
    // Both read names without regard to case: the stored name is the canonical one.
    const changed = await patch({ time_zone: 'america/new_york' });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json().time_zone).toBe('America/New_York');
    // The dashboard counts in it.
    const dashboard = await t.app.inject({
      url: '/api/analytics/dashboard?currency=EUR&interval=hour',
      headers: admin.auth,
    });
    expect(dashboard.statusCode, dashboard.body).toBe(200);
    expect(dashboard.json().time_zone).toBe('America/New_York');
  });

  it('lists members with keyset pages', async () => {
    const admin = await registerTenant(t);
    await addMember(t, admin, ['staff']);
    await addMember(t, admin, ['user']);
    const first = await t.app.inject({ url: '/tenants/current/users?limit=2', headers: admin.auth });
    expect(first.json().data).toHaveLength(2);
    const rest = await t.app.inject({
      url: `/tenants/current/users?limit=2&cursor=${first.json().next_cursor}`,
      headers: admin.auth,
    });
    expect(rest.json().data).toHaveLength(1);
    expect(rest.json().next_cursor).toBeNull();
  });

  it('changing roles answers the member; taking a role away signs the member out of the tenant', async () => {
    const admin = await registerTenant(t);
    const member = await addMember(t, admin, ['staff']);
    const promoted = await t.app.inject({
      method: 'PATCH',
      url: `/tenants/current/users/${member.user.id}`,
      headers: admin.auth,
      payload: { roles: ['staff', 'manager'] },
    });
    expect(promoted.statusCode).toBe(200);
    expect(promoted.json()).toMatchObject({ id: member.user.id, roles: ['staff', 'manager'] });
    expect((await t.app.inject({ url: '/auth/me', headers: member.auth })).statusCode).toBe(200);
    const refreshed = await t.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refresh_token: member.refreshToken },
    });
    expect(refreshed.json().user.roles).toEqual(['staff', 'manager']);

    const demoted = await t.app.inject({
      method: 'PATCH',
      url: `/tenants/current/users/${member.user.id}`,
      headers: admin.auth,
      payload: { roles: ['user'] },
    });
    expect(demoted.statusCode).toBe(200);
    expect(
      (await t.app.inject({ url: '/auth/me', headers: bearer(refreshed.json().access_token) })).statusCode,
    ).toBe(401);
    const back = await login(t, member.user.email);
    expect(back.user.roles).toEqual(['user']);
  });

  it('removal revokes the member’s sessions in the tenant; the last admin stays', async () => {
    const admin = await registerTenant(t);
    const member = await addMember(t, admin, ['staff']);
    const removed = await t.app.inject({
      method: 'DELETE',
      url: `/tenants/current/users/${member.user.id}`,
      headers: admin.auth,
    });
    expect(removed.statusCode).toBe(204);
    expect((await t.app.inject({ url: '/auth/me', headers: member.auth })).statusCode).toBe(401);
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/auth/refresh',
          payload: { refresh_token: member.refreshToken },
        })
      ).statusCode,
    ).toBe(401);
    const relogin = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: member.user.email, password: TEST_PASSWORD },
    });
    expect(relogin.statusCode).toBe(401);

    const lastAdmin = await t.app.inject({
      method: 'DELETE',
      url: `/tenants/current/users/${admin.user.id}`,
      headers: admin.auth,
    });
    expect(lastAdmin.statusCode).toBe(409);
    expect(lastAdmin.json().code).toBe('last_admin');
    const demoteSelf = await t.app.inject({
      method: 'PATCH',
      url: `/tenants/current/users/${admin.user.id}`,
      headers: admin.auth,
      payload: { roles: ['user'] },
    });
    expect(demoteSelf.statusCode).toBe(409);

    const second = await addMember(t, admin, ['admin']);
    const nowFine = await t.app.inject({
      method: 'PATCH',
      url: `/tenants/current/users/${admin.user.id}`,
      headers: second.auth,
      payload: { roles: ['manager'] },
    });
    expect(nowFine.statusCode).toBe(200);
  });

  const inviteTo = async (admin: TestTenant, email: string, roles: string[]) => {
    const invited = await t.app.inject({
      method: 'POST',
      url: '/tenants/current/invitations',
      headers: admin.auth,
      payload: { email, roles },
    });
    expect(invited.statusCode).toBe(201);
  };
  /** The token of the newest invitation mailed to the address, once it is not `previous`. */
  const invitationTokenAfter = async (email: string, previous?: string) => {
    for (;;) {
      const token = await mailedToken(t, email, '/accept-invitation');
      if (token !== previous) return token;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const joinWith = (email: string, token: string, password = TEST_PASSWORD) =>
    t.app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email, password, name: 'Invitee', invitation_token: token },
    });

  it('a new invitation to an address supersedes its pending one', async () => {
    const admin = await registerTenant(t);
    const email = uniqueEmail('invitee');
    await inviteTo(admin, email, ['user']);
    const asUser = await invitationTokenAfter(email);
    await inviteTo(admin, email.toUpperCase(), ['admin']);
    const asAdmin = await invitationTokenAfter(email, asUser);
    const stale = await joinWith(email, asUser);
    expect(stale.statusCode).toBe(400);
    expect(stale.json().code).toBe('invalid_token');
    const joined = await joinWith(email, asAdmin);
    expect(joined.statusCode, joined.body).toBe(201);
    expect(joined.json().user.roles).toEqual(['admin']);
  });

  it('joining with one invitation ends the address’s other pending invitations to the tenant', async () => {
    const admin = await registerTenant(t);
    const email = uniqueEmail('invitee');
    await inviteTo(admin, email, ['user']);
    const asUser = await invitationTokenAfter(email);
    await inviteTo(admin, email, ['admin']);
    const asAdmin = await invitationTokenAfter(email, asUser);
    // Both live, as two invitations sent at the same moment leave them.
    await t.platform.db
      .updateTable('invitations')
      .set({ expires_at: new Date(Date.now() + 3_600_000) })
      .where('tenant_id', '=', admin.tenant.id)
      .execute();
    const joined = await joinWith(email, asUser);
    expect(joined.statusCode, joined.body).toBe(201);
    expect(joined.json().user.roles).toEqual(['user']);

    // The other one is spent with it: not an already_member answer, no longer a live invitation.
    const other = await joinWith(email, asAdmin);
    expect(other.statusCode).toBe(400);
    expect(other.json().code).toBe('invalid_token');
  });

  it('removing a member cancels the pending invitations to their address in the tenant only', async () => {
    const admin = await registerTenant(t);
    const elsewhere = await registerTenant(t);
    const email = uniqueEmail('member');
    await inviteTo(admin, email, ['admin']);
    const here = await invitationTokenAfter(email);
    await inviteTo(elsewhere, email, ['staff']);
    const there = await invitationTokenAfter(email, here);
    // The operator adds the address while the invitation is pending (the CLI's create-user).
    const auth = t.modules.list.find((module) => module.name === 'auth') as AuthModule;
    const added = await auth.service.addMember(admin.tenant.id, {
      email,
      name: 'Mia Member',
      password: TEST_PASSWORD,
      roles: ['staff'],
    });
    const removed = await t.app.inject({
      method: 'DELETE',
      url: `/tenants/current/users/${added.user_id}`,
      headers: admin.auth,
    });
    expect(removed.statusCode).toBe(204);
    const back = await joinWith(email, here);
    expect(back.statusCode).toBe(400);
    expect(back.json().code).toBe('invalid_token');
    const joined = await joinWith(email, there);
    expect(joined.statusCode, joined.body).toBe(201);
    expect(joined.json().user).toMatchObject({ tenant_id: elsewhere.tenant.id, roles: ['staff'] });
  });

  const pendingInvitations = async (admin: TestTenant, query = '') => {
    const listed = await t.app.inject({ url: `/tenants/current/invitations${query}`, headers: admin.auth });
    expect(listed.statusCode, listed.body).toBe(200);
    return listed;
  };
  const revokeInvitation = (auth: Record<string, string>, id: string) =>
    t.app.inject({ method: 'DELETE', url: `/tenants/current/invitations/${id}`, headers: auth });

  it('lists pending invitations newest first, never their token; accepted and ended ones leave it', async () => {
    const admin = await registerTenant(t);
    const clerk = uniqueEmail('clerk');
    const boss = uniqueEmail('boss');
    const gone = uniqueEmail('gone');
    await inviteTo(admin, clerk, ['staff']);
    const clerkToken = await invitationTokenAfter(clerk);
    await inviteTo(admin, boss, ['user']);
    const bossToken = await invitationTokenAfter(boss);
    // Superseded: only the newer invitation to the address is pending.
    await inviteTo(admin, boss, ['manager']);
    await invitationTokenAfter(boss, bossToken);
    await inviteTo(admin, gone, ['user']);
    await t.platform.db
      .updateTable('invitations')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('email', '=', gone)
      .execute();

    const listed = await pendingInvitations(admin);
    expect(listed.json().next_cursor).toBeNull();
    const data = listed.json().data as Record<string, unknown>[];
    expect(data).toEqual([
      {
        id: expect.any(String),
        email: boss,
        roles: ['manager'],
        invited_by: admin.user.id,
        expires_at: expect.any(String),
        created_at: expect.any(String),
      },
      expect.objectContaining({ email: clerk, roles: ['staff'] }),
    ]);
    expect(Object.keys(data[1]!).sort()).toEqual(Object.keys(data[0]!).sort());
    expect(listed.body).not.toContain(clerkToken);
    expect(listed.body).not.toContain(bossToken);

    const first = await pendingInvitations(admin, '?limit=1');
    expect(first.json().data.map((i: { email: string }) => i.email)).toEqual([boss]);
    const rest = await pendingInvitations(admin, `?limit=1&cursor=${first.json().next_cursor}`);
    expect(rest.json()).toEqual({ data: [data[1]], next_cursor: null });

    expect((await joinWith(clerk, clerkToken)).statusCode).toBe(201);
    expect((await pendingInvitations(admin)).json().data).toEqual([data[0]]);
    // Accepted: no longer pending, so not found.
    const accepted = await revokeInvitation(admin.auth, data[1]!.id as string);
    expect(accepted.statusCode).toBe(404);
  });

  it("revoking ends the invitation's token at once; only the tenant's admins see or revoke it", async () => {
    const admin = await registerTenant(t);
    const stranger = await registerTenant(t);
    const staff = await addMember(t, admin, ['staff']);
    const email = uniqueEmail('invitee');
    await inviteTo(admin, email, ['staff']);
    const token = await invitationTokenAfter(email);
    const [invitation] = (await pendingInvitations(admin)).json().data as { id: string }[];

    expect((await pendingInvitations(stranger)).json()).toEqual({ data: [], next_cursor: null });
    const theirs = await revokeInvitation(stranger.auth, invitation!.id);
    expect(theirs.statusCode).toBe(404);
    expect(theirs.json().code).toBe('not_found');
    for (const refused of [
      await t.app.inject({ url: '/tenants/current/invitations', headers: staff.auth }),
      await revokeInvitation(staff.auth, invitation!.id),
    ]) {
      expect(refused.statusCode).toBe(403);
      expect(refused.json().code).toBe('forbidden');
    }

    const revoked = await revokeInvitation(admin.auth, invitation!.id);
    expect(revoked.statusCode).toBe(204);
    expect(revoked.body).toBe('');
    expect((await pendingInvitations(admin)).json().data).toEqual([]);
    const refused = await joinWith(email, token);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().code).toBe('invalid_token');
    expect((await revokeInvitation(admin.auth, invitation!.id)).statusCode).toBe(404);
    const unknown = await revokeInvitation(admin.auth, '0190a0a0-0000-7000-8000-000000000000');
    expect(unknown.statusCode).toBe(404);
  });

  it("another tenant's member is not found", async () => {
    const admin = await registerTenant(t);
    const stranger = await registerTenant(t);
    for (const request of [
      { method: 'DELETE' as const, url: `/tenants/current/users/${stranger.user.id}` },
      {
        method: 'PATCH' as const,
        url: `/tenants/current/users/${stranger.user.id}`,
        payload: { roles: ['user'] },
      },
    ]) {
      const response = await t.app.inject({ ...request, headers: admin.auth });
      expect(response.statusCode).toBe(404);
      expect(response.json().code).toBe('not_found');
    }
    expect((await t.app.inject({ url: '/auth/me', headers: stranger.auth })).statusCode).toBe(200);
  });
});
