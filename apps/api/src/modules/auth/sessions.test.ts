import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app';
import { createTestApp, type TestApp } from '../../../test/support/app';
import { addMember, bearer, login, registerTenant, TEST_PASSWORD } from '../../../test/support/auth';
import { serviceAvailable } from '../../../test/support/services';
import { createModules } from '..';
import type { AuthModule } from './index';

const postgresUp = await serviceAvailable('postgres');
const redisUp = postgresUp && (await serviceAvailable('redis'));

const refresh = (t: TestApp, token: string) =>
  t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: token } });
const me = (t: TestApp, accessToken: string) =>
  t.app.inject({ url: '/auth/me', headers: bearer(accessToken) });

describe.runIf(postgresUp)('auth: refresh, logout, sessions, keys', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('rotates the refresh token on every use; a spent one revokes the whole session', async () => {
    const admin = await registerTenant(t);
    const first = await refresh(t, admin.refreshToken);
    expect(first.statusCode).toBe(200);
    const pair = first.json();
    expect(pair.refresh_token).not.toBe(admin.refreshToken);
    expect(pair.user.session_id).toBe(admin.user.session_id);
    const second = await refresh(t, pair.refresh_token);
    expect(second.statusCode).toBe(200);
    const latest = second.json();
    expect((await me(t, latest.access_token)).statusCode).toBe(200);

    // The first token again (as a thief replaying it would): reuse, the session dies.
    const reused = await refresh(t, admin.refreshToken);
    expect(reused.statusCode).toBe(401);
    expect(reused.json().code).toBe('refresh_token_reused');
    const afterReuse = await refresh(t, latest.refresh_token);
    expect(afterReuse.statusCode).toBe(401);
    expect(afterReuse.json().code).toBe('unauthenticated');
    expect((await me(t, latest.access_token)).statusCode).toBe(401);
    expect((await me(t, admin.accessToken)).statusCode).toBe(401);
  });

  it('refuses malformed, unknown and expired refresh tokens with 401', async () => {
    const admin = await registerTenant(t);
    for (const token of [
      'nonsense',
      `${admin.refreshToken.split('.')[0]}.${'A'.repeat(43)}`,
      admin.refreshToken + 'x',
    ]) {
      const response = await refresh(t, token);
      expect(response.statusCode).toBe(401);
      expect(response.json().code).toBe('unauthenticated');
    }
    await t.platform.db
      .updateTable('sessions')
      .set({ idle_expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', admin.user.session_id)
      .execute();
    expect((await refresh(t, admin.refreshToken)).statusCode).toBe(401);
  });

  it('ends a session at its absolute expiry even while it is in use', async () => {
    const admin = await registerTenant(t);
    const phone = await login(t, admin.user.email);
    // In use: each refresh moves the idle expiry on.
    const used = await refresh(t, admin.refreshToken);
    expect(used.statusCode).toBe(200);
    const latest = used.json();
    const now = Date.now();
    await t.platform.db
      .updateTable('sessions')
      .set({ idle_expires_at: new Date(now + 3_600_000), absolute_expires_at: new Date(now - 1000) })
      .where('id', '=', admin.user.session_id)
      .execute();

    const refused = await refresh(t, latest.refresh_token);
    expect(refused.statusCode).toBe(401);
    expect(refused.json().code).toBe('unauthenticated');
    // It is no longer among the user's live sessions; the other one goes on.
    const list = await t.app.inject({ url: '/auth/sessions', headers: phone.auth });
    expect(list.json().data.map((s: { id: string }) => s.id)).toEqual([phone.user.session_id]);
    expect((await refresh(t, phone.refreshToken)).statusCode).toBe(200);
    // The guard reads no database: an access token already issued runs to its own `exp` (at most
    // ACCESS_TOKEN_TTL), as after an idle expiry (docs/security.md, "Known limits").
  });

  it('logout answers 204 and refuses the access token at once, and its refresh token', async () => {
    const admin = await registerTenant(t);
    const other = await login(t, admin.user.email);
    const out = await t.app.inject({ method: 'POST', url: '/auth/logout', headers: admin.auth });
    expect(out.statusCode).toBe(204);
    expect(out.body).toBe('');
    const after = await me(t, admin.accessToken);
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe('unauthenticated');
    expect((await refresh(t, admin.refreshToken)).statusCode).toBe(401);
    // Other sessions of the user are untouched.
    expect((await me(t, other.accessToken)).statusCode).toBe(200);
  });

  it('lists the tenants of a user in several, and switches to another: the old session ends at once', async () => {
    const adminA = await registerTenant(t);
    const adminB = await registerTenant(t);
    await addMember(t, adminB, ['staff'], { email: adminA.user.email, password: adminA.password });
    const signedIn = await login(t, adminA.user.email);
    // Each business's time zone comes with it, for every member (staff may not read the tenant).
    const zoned = await t.app.inject({
      method: 'PATCH',
      url: '/tenants/current',
      headers: adminB.auth,
      payload: { time_zone: 'Europe/Paris' },
    });
    expect(zoned.statusCode).toBe(200);

    const tenants = await t.app.inject({ url: '/auth/tenants', headers: signedIn.auth });
    expect(tenants.statusCode).toBe(200);
    expect(tenants.json().data).toEqual([
      {
        id: adminA.tenant.id,
        name: adminA.tenant.name,
        roles: adminA.user.roles,
        current: true,
        time_zone: 'UTC',
      },
      {
        id: adminB.tenant.id,
        name: adminB.tenant.name,
        roles: ['staff'],
        current: false,
        time_zone: 'Europe/Paris',
      },
    ]);

    const switched = await t.app.inject({
      method: 'POST',
      url: '/auth/switch-tenant',
      headers: signedIn.auth,
      payload: { tenant_id: adminB.tenant.id },
    });
    expect(switched.statusCode).toBe(200);
    const answer = switched.json();
    expect(answer.user).toMatchObject({ id: adminA.user.id, tenant_id: adminB.tenant.id, roles: ['staff'] });
    expect(answer.user.permissions).not.toContain('manage:users');
    expect((await me(t, signedIn.accessToken)).statusCode).toBe(401);
    expect((await refresh(t, signedIn.refreshToken)).statusCode).toBe(401);
    const inB = await t.app.inject({ url: '/auth/tenants', headers: bearer(answer.access_token) });
    expect(inB.json().data.map((m: { current: boolean }) => m.current)).toEqual([false, true]);
    expect((await refresh(t, answer.refresh_token)).json().user.tenant_id).toBe(adminB.tenant.id);

    // A tenant the user is not in is as unknown as one that does not exist; the session goes on.
    const outsider = await registerTenant(t);
    for (const tenant_id of [outsider.tenant.id, '00000000-0000-7000-8000-000000000000']) {
      const refused = await t.app.inject({
        method: 'POST',
        url: '/auth/switch-tenant',
        headers: adminA.auth,
        payload: { tenant_id },
      });
      expect(refused.statusCode).toBe(404);
      expect(refused.json().code).toBe('not_found');
    }
    expect((await me(t, adminA.accessToken)).statusCode).toBe(200);
    const malformed = await t.app.inject({
      method: 'POST',
      url: '/auth/switch-tenant',
      headers: adminA.auth,
      payload: { tenant_id: 'shop-b' },
    });
    expect(malformed.statusCode).toBe(400);
  });

  it("lists the caller's live sessions and revokes one", async () => {
    const admin = await registerTenant(t);
    const phone = await login(t, admin.user.email);
    const list = await t.app.inject({ url: '/auth/sessions', headers: admin.auth });
    expect(list.statusCode).toBe(200);
    const body = list.json();
    expect(body.next_cursor).toBeNull();
    expect(body.data.map((s: { id: string }) => s.id).sort()).toEqual(
      [admin.user.session_id, phone.user.session_id].sort(),
    );
    expect(body.data.find((s: { current: boolean }) => s.current).id).toBe(admin.user.session_id);

    const firstPage = await t.app.inject({ url: '/auth/sessions?limit=1', headers: admin.auth });
    expect(firstPage.json().data).toHaveLength(1);
    const secondPage = await t.app.inject({
      url: `/auth/sessions?limit=1&cursor=${firstPage.json().next_cursor}`,
      headers: admin.auth,
    });
    expect(secondPage.json().data).toHaveLength(1);
    expect(secondPage.json().data[0].id).not.toBe(firstPage.json().data[0].id);

    const revoke = await t.app.inject({
      method: 'DELETE',
      url: `/auth/sessions/${phone.user.session_id}`,
      headers: admin.auth,
    });
    expect(revoke.statusCode).toBe(204);
    expect((await me(t, phone.accessToken)).statusCode).toBe(401);
    expect((await me(t, admin.accessToken)).statusCode).toBe(200);

    // Another user's session is not found, not forbidden.
    const stranger = await registerTenant(t);
    const foreign = await t.app.inject({
      method: 'DELETE',
      url: `/auth/sessions/${stranger.user.session_id}`,
      headers: admin.auth,
    });
    expect(foreign.statusCode).toBe(404);
    expect((await me(t, stranger.accessToken)).statusCode).toBe(200);
  });

  it('rotates the signing key: new tokens use the new kid, old tokens keep verifying, both are published', async () => {
    const admin = await registerTenant(t);
    const oldKid = decodeProtectedHeader(admin.accessToken).kid;
    const auth = t.modules.list.find((module) => module.name === 'auth') as AuthModule;
    const newKid = await auth.service.rotateSigningKey();
    expect(newKid).not.toBe(oldKid);
    const fresh = await login(t, admin.user.email);
    expect(decodeProtectedHeader(fresh.accessToken).kid).toBe(newKid);
    expect((await me(t, admin.accessToken)).statusCode).toBe(200);
    expect((await me(t, fresh.accessToken)).statusCode).toBe(200);
    const kids = (await t.app.inject('/.well-known/jwks.json'))
      .json()
      .keys.map((key: { kid: string }) => key.kid);
    expect(kids).toEqual(expect.arrayContaining([oldKid, newKid]));
    const retired = await t.platform.db
      .selectFrom('signing_keys')
      .select(['publish_until'])
      .where('kid', '=', oldKid!)
      .executeTakeFirstOrThrow();
    // Published until its last token has expired (access TTL plus a minute of skew), no longer.
    const until = retired.publish_until!.getTime() - Date.now();
    expect(until).toBeGreaterThan((t.config.ACCESS_TOKEN_TTL - 5) * 1000);
    expect(until).toBeLessThanOrEqual((t.config.ACCESS_TOKEN_TTL + 61) * 1000);
    const sealed = await t.platform.db.selectFrom('signing_keys').select('private_key_sealed').execute();
    for (const row of sealed) expect(row.private_key_sealed).toMatch(/^v1\./);
  });
});

describe.runIf(postgresUp)('auth: refresh reuse grace', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { REFRESH_REUSE_GRACE_SECONDS: '30' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a repeat within the grace answers the same new refresh token; a third use of a spent one still revokes', async () => {
    const admin = await registerTenant(t);
    const first = (await refresh(t, admin.refreshToken)).json();
    const repeat = await refresh(t, admin.refreshToken);
    expect(repeat.statusCode).toBe(200);
    expect(repeat.json().refresh_token).toBe(first.refresh_token);
    const next = (await refresh(t, first.refresh_token)).json();
    expect(next.refresh_token).toBeDefined();
    await t.platform.db
      .updateTable('refresh_tokens')
      .set({ spent_at: new Date(Date.now() - 60_000) })
      .where('session_id', '=', admin.user.session_id)
      .where('spent_at', 'is not', null)
      .execute();
    const late = await refresh(t, admin.refreshToken);
    expect(late.statusCode).toBe(401);
    expect(late.json().code).toBe('refresh_token_reused');
    expect((await refresh(t, next.refresh_token)).statusCode).toBe(401);
  });
});

describe.runIf(redisUp)('auth: revocation shared through Redis', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ redis: true });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a logout on one API process is refused at once by another', async () => {
    // A second process: its own modules and caches, the same PostgreSQL and Redis.
    const other = await buildApp(t.config, { platform: t.platform, modules: createModules(t.platform) });
    await other.ready();
    try {
      const admin = await registerTenant(t);
      expect((await other.inject({ url: '/auth/me', headers: admin.auth })).statusCode).toBe(200);
      expect(
        (await t.app.inject({ method: 'POST', url: '/auth/logout', headers: admin.auth })).statusCode,
      ).toBe(204);
      const refused = await other.inject({ url: '/auth/me', headers: admin.auth });
      expect(refused.statusCode).toBe(401);
      const key = `${t.config.REDIS_KEY_PREFIX}auth:revoked:${admin.user.session_id}`;
      const ttl = await t.platform.redis!.ttl(key);
      expect(ttl).toBeGreaterThan(t.config.ACCESS_TOKEN_TTL);
      expect(ttl).toBeLessThanOrEqual(t.config.ACCESS_TOKEN_TTL + 60);
    } finally {
      await other.close();
    }
  });

  it('refresh reuse revokes through Redis too', async () => {
    const admin = await registerTenant(t);
    await refresh(t, admin.refreshToken);
    expect((await refresh(t, admin.refreshToken)).json().code).toBe('refresh_token_reused');
    expect((await me(t, admin.accessToken)).statusCode).toBe(401);
  });
});

describe.runIf(postgresUp)('auth: access tokens end with their session', () => {
  let t: TestApp;

  beforeAll(async () => {
    // Sessions shorter than access tokens: 60 s idle, 120 s absolute, against 900 s tokens.
    t = await createTestApp({
      env: { ACCESS_TOKEN_TTL: '900', SESSION_IDLE_TTL: '60', REFRESH_TOKEN_TTL: '120' },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const lifetime = (token: string) => {
    const payload = decodeJwt(token);
    return payload.exp! - payload.iat!;
  };

  it('issues none that outlives its session, at login and at refresh', async () => {
    const admin = await registerTenant(t);
    expect(lifetime(admin.accessToken)).toBeLessThanOrEqual(60);
    const signedIn = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: admin.user.email, password: TEST_PASSWORD },
    });
    const answer = signedIn.json<{ access_token: string; refresh_token: string; expires_in: number }>();
    expect(lifetime(answer.access_token)).toBeLessThanOrEqual(60);
    expect(answer.expires_in).toBe(lifetime(answer.access_token));
    const refreshed = await t.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refresh_token: answer.refresh_token },
    });
    expect(refreshed.statusCode).toBe(200);
    const renewed = refreshed.json<{ access_token: string; expires_in: number }>();
    expect(lifetime(renewed.access_token)).toBeLessThanOrEqual(60);
    expect(renewed.expires_in).toBeGreaterThan(0);
  });
});
