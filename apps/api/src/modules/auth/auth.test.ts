import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, UnsecuredJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app';
import { addMember, login, registerTenant, TEST_PASSWORD, uniqueEmail } from '../../../test/support/auth';
import { serviceAvailable } from '../../../test/support/services';
import type { AuthModule } from './index';

const postgresUp = await serviceAvailable('postgres');

describe.runIf(postgresUp)('auth: register, login, me, access tokens', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('registers a tenant whose first user is admin, and answers the token answer', async () => {
    const email = uniqueEmail('Founder');
    const response = await t.app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email, password: TEST_PASSWORD, name: 'Founder', tenant_name: 'Acme' },
    });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 900,
      tenant: { id: expect.any(String), name: 'Acme' },
      user: { email, name: 'Founder', email_verified: false, roles: ['admin', 'user'] },
    });
    expect(body.user.tenant_id).toBe(body.tenant.id);
    expect(body.device_token).toEqual(expect.any(String));
    expect(body.user.permissions).toContain('manage:users');
    expect(Buffer.from(body.refresh_token.split('.')[1], 'base64url').length).toBeGreaterThanOrEqual(32);

    const claims = decodeJwt(body.access_token);
    expect(Object.keys(claims).sort()).toEqual(
      [
        'aud',
        'email',
        'exp',
        'iat',
        'iss',
        'jti',
        'permissions',
        'roles',
        'session_id',
        'sub',
        'tenant_id',
      ].sort(),
    );
    expect(claims).toMatchObject({
      sub: body.user.id,
      tenant_id: body.tenant.id,
      session_id: body.user.session_id,
    });
    expect(decodeProtectedHeader(body.access_token)).toMatchObject({ alg: 'EdDSA', kid: expect.any(String) });

    const again = await t.app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email: email.toUpperCase(), password: TEST_PASSWORD, name: 'Copy', tenant_name: 'Other' },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('email_taken');

    await t.flushEvents();
    const events = await t.platform.db
      .selectFrom('outbox_events')
      .select(['type', 'payload'])
      .where('tenant_id', '=', body.tenant.id)
      .execute();
    expect(events.map((event) => event.type)).toEqual(['auth.user.created']);
  });

  it("starts the business in the time zone given, in PostgreSQL's spelling, and refuses unknown zones", async () => {
    const email = uniqueEmail('Zoned');
    const register = (timeZone: string) =>
      t.app.inject({
        method: 'POST',
        url: '/auth/register',
        payload: { email, password: TEST_PASSWORD, name: 'Zoned', tenant_name: 'Far', time_zone: timeZone },
      });
    const unknown = await register('Mars/Olympus');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({
      code: 'validation_failed',
      errors: [{ path: 'time_zone', message: expect.any(String) }],
    });

    // Nothing was created: the same address registers.
    const response = await register('asia/kathmandu');
    expect(response.statusCode).toBe(201);
    const tenant = await t.app.inject({
      url: '/tenants/current',
      headers: { authorization: `Bearer ${response.json().access_token}` },
    });
    expect(tenant.json()).toMatchObject({ name: 'Far', time_zone: 'Asia/Kathmandu' });

    const unzoned = await registerTenant(t);
    const fallback = await t.app.inject({ url: '/tenants/current', headers: unzoned.auth });
    expect(fallback.json().time_zone).toBe('UTC');
  });

  it('refuses short, overlong and common passwords with 400', async () => {
    const cases = [
      ['short-pass', 'validation_failed'],
      ['x'.repeat(129), 'validation_failed'],
      ['password1234', 'weak_password'],
      ['Qwertyuiop123', 'weak_password'],
      ['aaaaaaaaaaaaaaaa', 'weak_password'],
    ] as const;
    for (const [password, code] of cases) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/auth/register',
        payload: { email: uniqueEmail(), password, name: 'N', tenant_name: 'T' },
      });
      expect(response.statusCode, password).toBe(400);
      expect(response.json().code, password).toBe(code);
    }
    // 128 characters is accepted whole: nothing is truncated (a changed last character fails).
    const long = 'Lorem ipsum dolor sit amet '.repeat(5).slice(0, 127) + 'X';
    const admin = await registerTenant(t, { password: long });
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/auth/login',
          payload: { email: admin.user.email, password: long },
        })
      ).statusCode,
    ).toBe(200);
    const truncated = long.slice(0, 127) + 'Y';
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/auth/login',
          payload: { email: admin.user.email, password: truncated },
        })
      ).statusCode,
    ).toBe(401);
  });

  it('logs in, emits auth.user.login, and GET /auth/me answers the principal', async () => {
    const admin = await registerTenant(t);
    const session = await login(t, admin.user.email.toUpperCase());
    expect(session.user.session_id).not.toBe(admin.user.session_id);
    const me = await t.app.inject({ url: '/auth/me', headers: session.auth });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({
      id: admin.user.id,
      email: admin.user.email,
      name: 'Ada Admin',
      email_verified: false,
      tenant_id: admin.tenant.id,
      roles: ['admin', 'user'],
      permissions: admin.user.permissions,
      session_id: session.user.session_id,
      created_at: admin.user.created_at,
    });
    const logins = await t.platform.db
      .selectFrom('outbox_events')
      .select('payload')
      .where('tenant_id', '=', admin.tenant.id)
      .where('type', '=', 'auth.user.login')
      .execute();
    expect(logins.map((row) => (row.payload as { data: unknown }).data)).toEqual([
      { user_id: admin.user.id, session_id: session.user.session_id },
    ]);
  });

  it('answers a wrong password and an unknown email alike', async () => {
    const admin = await registerTenant(t);
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'x-forwarded-for': '10.0.0.1' },
      payload: { email: admin.user.email, password: 'not the right password' },
    });
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: uniqueEmail('nobody'), password: 'not the right password' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json().code).toBe('invalid_credentials');
    expect(unknown.json().code).toBe('invalid_credentials');
    expect(wrong.json().detail).toBe(unknown.json().detail);
  });

  it('refuses a token it accepted before, once the token has expired', async () => {
    const admin = await registerTenant(t);
    const claims = decodeJwt(admin.accessToken);
    const auth = t.modules.list.find((module) => module.name === 'auth') as AuthModule;
    const { privateKey, kid } = await auth.keys.signingKey();
    const now = Math.floor(Date.now() / 1000);
    const shortLived = await new SignJWT({ ...claims, exp: now + 2 })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
      .sign(privateKey);
    const me = () => t.app.inject({ url: '/auth/me', headers: { authorization: `Bearer ${shortLived}` } });
    expect((await me()).statusCode).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, (now + 2) * 1000 - Date.now() + 50));
    const late = await me();
    expect(late.statusCode).toBe(401);
    expect(late.json().detail).toMatch(/expired/);
  });

  it('refuses tokens that are missing, unsigned, signed by an unknown key, expired, or for another audience', async () => {
    const admin = await registerTenant(t);
    const claims = decodeJwt(admin.accessToken);
    const { kid } = decodeProtectedHeader(admin.accessToken);
    const stranger = generateKeyPairSync('ed25519').privateKey;
    const sign = (payload: Record<string, unknown>, header: Record<string, unknown> = {}) =>
      new SignJWT(payload)
        .setProtectedHeader({ alg: 'EdDSA', kid: kid!, typ: 'at+jwt', ...header })
        .sign(stranger);
    const now = Math.floor(Date.now() / 1000);
    const forged = [
      new UnsecuredJWT(claims).encode(),
      await sign(claims),
      await sign(claims, { kid: 'unknown-kid' }),
      await sign({ ...claims, roles: ['admin'] }),
      admin.accessToken.slice(0, -4) + 'AAAA',
    ];
    for (const token of forged) {
      const response = await t.app.inject({ url: '/auth/me', headers: { authorization: `Bearer ${token}` } });
      expect(response.statusCode).toBe(401);
      expect(response.json().code).toBe('unauthenticated');
    }
    const none = await t.app.inject({ url: '/auth/me' });
    expect(none.statusCode).toBe(401);

    // Signed with the real key, but expired or for another audience: the service signs them itself.
    const auth = t.modules.list.find((module) => module.name === 'auth') as AuthModule;
    const { privateKey, kid: realKid } = await auth.keys.signingKey();
    const real = (payload: Record<string, unknown>) =>
      new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', kid: realKid, typ: 'at+jwt' }).sign(privateKey);
    expect(
      (await t.app.inject({ url: '/auth/me', headers: { authorization: `Bearer ${await real(claims)}` } }))
        .statusCode,
    ).toBe(200);
    for (const payload of [
      { ...claims, iat: now - 2000, exp: now - 1000 },
      { ...claims, aud: 'someone-else' },
      { ...claims, iss: 'someone-else' },
    ]) {
      const response = await t.app.inject({
        url: '/auth/me',
        headers: { authorization: `Bearer ${await real(payload)}` },
      });
      expect(response.statusCode).toBe(401);
    }
  });

  it('publishes the signing key in the JWKS, and a token verifies with a standard library from it', async () => {
    const admin = await registerTenant(t);
    const jwks = await t.app.inject('/.well-known/jwks.json');
    expect(jwks.statusCode).toBe(200);
    const { createLocalJWKSet, jwtVerify } = await import('jose');
    const verified = await jwtVerify(admin.accessToken, createLocalJWKSet(jwks.json()), {
      issuer: t.config.JWT_ISSUER,
      audience: t.config.JWT_AUDIENCE,
    });
    expect(verified.payload.sub).toBe(admin.user.id);
    expect(JSON.stringify(jwks.json())).not.toMatch(/"d"/);
  });

  it('emits auth.user.created when an invitation or an operator creates a user, none when an existing user joins', async () => {
    const eventsOf = async (tenantId: string) =>
      (
        await t.platform.db
          .selectFrom('outbox_events')
          .select(['type', 'payload'])
          .where('tenant_id', '=', tenantId)
          .orderBy('seq')
          .execute()
      ).map((row) => {
        const { actor, data } = row.payload as { actor: unknown; data: unknown };
        return { type: row.type, actor, data };
      });
    const adminA = await registerTenant(t);
    const adminB = await registerTenant(t);
    const before = await eventsOf(adminB.tenant.id);
    expect(before.map((event) => event.type)).toEqual(['auth.user.created']);

    // A new identity accepts an invitation: one user created, in the tenant it joins.
    const newcomer = await addMember(t, adminB, ['staff'], { name: 'Nina Newcomer' });
    const afterNew = await eventsOf(adminB.tenant.id);
    expect(afterNew.slice(before.length)).toEqual([
      {
        type: 'auth.user.created',
        actor: { type: 'user', id: newcomer.user.id },
        data: {
          user_id: newcomer.user.id,
          email: newcomer.user.email,
          name: 'Nina Newcomer',
          roles: ['staff'],
        },
      },
    ]);

    // An existing identity accepts one: it joins, and no user is created in either tenant.
    const eventsOfA = await eventsOf(adminA.tenant.id);
    const joined = await addMember(t, adminB, ['manager'], {
      email: adminA.user.email,
      password: adminA.password,
    });
    expect(joined.user).toMatchObject({
      id: adminA.user.id,
      tenant_id: adminB.tenant.id,
      roles: ['manager'],
    });
    expect(await eventsOf(adminB.tenant.id)).toEqual(afterNew);
    expect(await eventsOf(adminA.tenant.id)).toEqual(eventsOfA);

    // The operator's way in (the CLI's create-user) alike.
    const auth = t.modules.list.find((module) => module.name === 'auth') as AuthModule;
    const adminC = await registerTenant(t);
    const beforeC = await eventsOf(adminC.tenant.id);
    const existing = await auth.service.addMember(adminC.tenant.id, {
      email: adminA.user.email,
      name: 'Ignored',
      password: 'not used for an existing identity',
      roles: ['staff'],
    });
    expect(existing).toEqual({ user_id: adminA.user.id, created: false });
    expect(await eventsOf(adminC.tenant.id)).toEqual(beforeC);
    const email = uniqueEmail('operator-made');
    const created = await auth.service.addMember(adminC.tenant.id, {
      email,
      name: 'Otto Operator',
      password: TEST_PASSWORD,
      roles: ['staff'],
    });
    expect(created.created).toBe(true);
    expect((await eventsOf(adminC.tenant.id)).slice(beforeC.length)).toEqual([
      {
        type: 'auth.user.created',
        actor: { type: 'system', id: null },
        data: { user_id: created.user_id, email, name: 'Otto Operator', roles: ['staff'] },
      },
    ]);
  });

  it('a staff member is refused a manager route with 403', async () => {
    const admin = await registerTenant(t);
    const staff = await addMember(t, admin, ['staff']);
    expect(staff.user.roles).toEqual(['staff']);
    expect(staff.user.tenant_id).toBe(admin.tenant.id);
    const response = await t.app.inject({
      method: 'POST',
      url: '/tenants/current/invitations',
      headers: staff.auth,
      payload: { email: uniqueEmail(), roles: ['staff'] },
    });
    expect(response.statusCode).toBe(403);
    expect(response.json().code).toBe('forbidden');
  });
});
