import { uuidv7 } from '@tessera/contracts';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app';
import {
  mailedToken,
  registerTenant,
  TEST_PASSWORD,
  uniqueEmail,
  type TestTenant,
} from '../../../test/support/auth';
import { serviceAvailable } from '../../../test/support/services';
import { createLogger } from '../../platform/logger';
import { newTenantToken } from './tokens';

const postgresUp = await serviceAvailable('postgres');

describe.runIf(postgresUp)('auth: an invitation link looked up before it is used', () => {
  let t: TestApp;
  let admin: TestTenant;
  /** Each lookup from an address of its own, unless a test is about one address's limit. */
  let nextAddress = 1;
  const freshAddress = () => `10.20.${Math.floor(nextAddress / 250)}.${(nextAddress++ % 250) + 1}`;

  beforeAll(async () => {
    t = await createTestApp();
    admin = await registerTenant(t, { tenant_name: 'Corner Shop' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const lookUp = (token: string, remoteAddress = freshAddress()) =>
    t.app.inject({ url: `/auth/invitations/${encodeURIComponent(token)}`, remoteAddress });
  const invite = async (email: string, roles: string[], by: TestTenant = admin) => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/tenants/current/invitations',
      headers: by.auth,
      payload: { email, roles },
    });
    expect(response.statusCode).toBe(201);
    return response.json<{ id: string }>();
  };
  /** The token of the latest invitation mailed to the address, once it is not `previous`. */
  const mailedInvitation = async (email: string, previous?: string) => {
    for (;;) {
      const token = await mailedToken(t, email, '/accept-invitation');
      if (token !== previous) return token;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const join = (payload: object) => t.app.inject({ method: 'POST', url: '/auth/register', payload });
  const expectDead = (response: Awaited<ReturnType<typeof lookUp>>) => {
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toContain('application/problem+json');
    const { request_id: _request, ...problem } = response.json<Record<string, unknown>>();
    return problem;
  };

  it('shows the business, the address, the roles and the end of a usable link, without spending it', async () => {
    const email = uniqueEmail('clerk');
    const invited = await invite(email, ['staff', 'user']);
    const token = await mailedInvitation(email);

    const first = await lookUp(token);
    expect(first.statusCode).toBe(200);
    const pending = await t.app.inject({ url: '/tenants/current/invitations', headers: admin.auth });
    const expiresAt = pending.json().data.find((row: { id: string }) => row.id === invited.id).expires_at;
    expect(first.json()).toEqual({
      business_name: 'Corner Shop',
      email,
      roles: ['staff', 'user'],
      expires_at: expiresAt,
      existing_account: false,
    });
    // Looking again, and then joining, still work: the lookup spent nothing.
    expect((await lookUp(token)).json()).toEqual(first.json());
    const joined = await join({ email, password: TEST_PASSWORD, name: 'Clerk', invitation_token: token });
    expect(joined.statusCode).toBe(201);
    expect(joined.json()).toMatchObject({ user: { email, roles: ['staff', 'user'] } });
    // Used, the link is dead.
    expect(expectDead(await lookUp(token)).code).toBe('invalid_token');
  });

  it('tells an address with an account, which joins with its password and no name', async () => {
    const other = await registerTenant(t, { name: 'Bea Baker', tenant_name: 'Bea Bakery' });
    // Addresses are matched without regard to case, as sign-in matches them.
    await invite(other.user.email.toUpperCase(), ['manager']);
    const token = await mailedInvitation(other.user.email.toUpperCase());
    const looked = await lookUp(token);
    expect(looked.statusCode).toBe(200);
    expect(looked.json()).toMatchObject({ business_name: 'Corner Shop', existing_account: true });

    const joined = await join({
      email: other.user.email.toUpperCase(),
      password: other.password,
      invitation_token: token,
    });
    expect(joined.statusCode).toBe(201);
    expect(joined.json()).toMatchObject({
      tenant: { id: admin.tenant.id, name: 'Corner Shop' },
      user: { id: other.user.id, name: 'Bea Baker', roles: ['manager'] },
    });
  });

  it('asks a new account for its name when joining', async () => {
    const email = uniqueEmail('nameless');
    await invite(email, ['staff']);
    const token = await mailedInvitation(email);
    const nameless = await join({ email, password: TEST_PASSWORD, invitation_token: token });
    expect(nameless.statusCode).toBe(400);
    expect(nameless.json()).toMatchObject({
      code: 'validation_failed',
      errors: [{ path: 'name', message: 'must not be empty' }],
    });
    // Refused, the link still works.
    expect((await lookUp(token)).statusCode).toBe(200);
    const tenantless = await join({ email: uniqueEmail(), password: TEST_PASSWORD, tenant_name: 'Shop' });
    expect(tenantless.statusCode).toBe(400);
    expect(tenantless.json().errors).toEqual([{ path: 'name', message: 'must not be empty' }]);
  });

  it('answers a used, revoked, superseded, expired, never issued or malformed link alike: 404 invalid_token', async () => {
    const dead: string[] = [];
    const used = uniqueEmail('used');
    await invite(used, ['staff']);
    const usedToken = await mailedInvitation(used);
    expect(
      (await join({ email: used, password: TEST_PASSWORD, name: 'Used', invitation_token: usedToken }))
        .statusCode,
    ).toBe(201);
    dead.push(usedToken);

    const revoked = uniqueEmail('revoked');
    const revokedInvitation = await invite(revoked, ['staff']);
    const revokedToken = await mailedInvitation(revoked);
    const revoking = await t.app.inject({
      method: 'DELETE',
      url: `/tenants/current/invitations/${revokedInvitation.id}`,
      headers: admin.auth,
    });
    expect(revoking.statusCode).toBe(204);
    dead.push(revokedToken);

    const superseded = uniqueEmail('superseded');
    await invite(superseded, ['staff']);
    const older = await mailedInvitation(superseded);
    await invite(superseded, ['manager']);
    const newer = await mailedInvitation(superseded, older);
    expect((await lookUp(newer)).json()).toMatchObject({ roles: ['manager'] });
    dead.push(older);

    const expired = uniqueEmail('expired');
    await invite(expired, ['staff']);
    const expiredToken = await mailedInvitation(expired);
    expect((await lookUp(expiredToken)).statusCode).toBe(200);
    await t.platform.db
      .updateTable('invitations')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('email', '=', expired)
      .execute();
    dead.push(expiredToken);

    const tenantPart = usedToken.split('.')[0]!;
    dead.push(
      `${tenantPart}.${'B'.repeat(43)}`, // never issued, in a business that exists
      newTenantToken(uuidv7()), // never issued, in a business that does not
      'not-an-invitation', // malformed
      `${tenantPart}.short`,
      `${usedToken}.extra`,
    );

    const answers = [];
    for (const token of dead) answers.push(expectDead(await lookUp(token)));
    expect(answers[0]).toMatchObject({ status: 404, code: 'invalid_token' });
    for (const answer of answers) expect(answer).toEqual(answers[0]);
  });

  it('limits dead links per address; a usable one does not count', async () => {
    const email = uniqueEmail('limited');
    await invite(email, ['staff']);
    const token = await mailedInvitation(email);
    const address = '192.0.2.7';
    const limit = t.config.RATE_LIMIT_LOGIN_PER_MINUTE;
    for (let i = 0; i < limit + 2; i++) expect((await lookUp(token, address)).statusCode).toBe(200);
    for (let i = 0; i < limit; i++) expectDead(await lookUp('not-an-invitation', address));
    const refused = await lookUp('not-an-invitation', address);
    expect(refused.statusCode).toBe(429);
    expect(refused.json().code).toBe('rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // Past the limit even a usable link waits; another address is not held up.
    expect((await lookUp(token, address)).statusCode).toBe(429);
    expect((await lookUp(token)).statusCode).toBe(200);
  });

  it('keeps the token out of the request log', async () => {
    const email = uniqueEmail('logged');
    await invite(email, ['staff']);
    const token = await mailedInvitation(email);
    const lines: string[] = [];
    // The production logger, writing where the test can read, made into the app's logger as Fastify
    // makes it (Fastify's serializers, the platform's over them); each request's logger is its child.
    const production = createLogger(
      { LOG_LEVEL: 'info' },
      { write: (line: string) => void lines.push(line) },
    );
    const serializersOf = (logger: object) =>
      (logger as Record<symbol, pino.LoggerOptions['serializers']>)[pino.symbols.serializersSym];
    const appLogger = production.child(
      {},
      { serializers: { ...serializersOf(t.app.log), ...serializersOf(production) } },
    );
    const child = vi
      .spyOn(t.app.log, 'child')
      .mockImplementation((bindings, options) => appLogger.child(bindings, options));
    try {
      expect((await lookUp(token)).statusCode).toBe(200);
      expectDead(await lookUp(`${token.split('.')[0]}.${'C'.repeat(43)}`));
    } finally {
      child.mockRestore();
    }
    const log = lines.join('');
    expect(log).toContain('incoming request');
    expect(log).toContain('"url":"/auth/invitations/[redacted]"');
    expect(log).not.toContain(token.split('.')[1]);
    expect(log).not.toContain('C'.repeat(43));
  });

  it("ends the address's pending invitations when an operator adds it from the command line", async () => {
    const email = uniqueEmail('operator-added');
    await invite(email, ['staff']);
    const token = await mailedInvitation(email);
    expect((await lookUp(token)).statusCode).toBe(200);
    await t.modules.services.auth.addMember(admin.tenant.id, {
      email: email.toUpperCase(),
      name: 'Added by hand',
      password: TEST_PASSWORD,
      roles: ['staff'],
    });
    // A member already: the link is dead, not a form that ends in already_member.
    expectDead(await lookUp(token));
  });
});
