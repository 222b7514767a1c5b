import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app';
import {
  bearer,
  login,
  registerTenant,
  TEST_PASSWORD,
  tokenInLink,
  uniqueEmail,
} from '../../../test/support/auth';
import { serviceAvailable } from '../../../test/support/services';
import { startSmtpServer, type TestSmtpServer } from '../../../test/support/smtp';
import type { AuthModule } from './index';
import { ARGON2_PARAMS } from './passwords';

const postgresUp = await serviceAvailable('postgres');
const redisUp = postgresUp && (await serviceAvailable('redis'));
const NEW_PASSWORD = 'a brand new passphrase 42';

describe.runIf(postgresUp)('auth: passwords and mail over SMTP', () => {
  let t: TestApp;
  let smtp: TestSmtpServer;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await createTestApp({
      env: {
        SMTP_URL: smtp.url,
        PUBLIC_URL: 'https://shop.example.test',
        RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url, payload, headers });
  const me = (accessToken: string) => t.app.inject({ url: '/auth/me', headers: bearer(accessToken) });

  it('stores passwords as argon2id with the parameters in the hash', async () => {
    const admin = await registerTenant(t);
    const row = await t.platform.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', admin.user.id)
      .executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(ARGON2_PARAMS).toMatchObject({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    expect(row.password_hash).not.toContain(TEST_PASSWORD);
  });

  it('mails a verification link at register; the token verifies once', async () => {
    const admin = await registerTenant(t);
    const mail = await smtp.waitFor(admin.user.email, (m) => m.text.includes('/verify-email'));
    expect(mail.from).toBe('no-reply@tessera.local');
    expect(mail.html).toContain('https://shop.example.test/verify-email?token=');
    const token = tokenInLink(mail.text, '/verify-email')!;
    expect(Buffer.from(token, 'base64url').length).toBe(32);
    const verified = await post('/auth/verify-email', { token });
    expect(verified.statusCode).toBe(200);
    expect(verified.json()).toEqual({ email_verified: true });
    expect((await me(admin.accessToken)).json().email_verified).toBe(true);
    const again = await post('/auth/verify-email', { token });
    expect(again.statusCode).toBe(400);
    expect(again.json().code).toBe('invalid_token');
  });

  it('resend mails a new verification link (202); the old one stops working', async () => {
    const admin = await registerTenant(t);
    const first = tokenInLink((await smtp.waitFor(admin.user.email)).text, '/verify-email')!;
    const resend = await t.app.inject({
      method: 'POST',
      url: '/auth/verify-email/resend',
      headers: admin.auth,
    });
    expect(resend.statusCode).toBe(202);
    const second = tokenInLink(
      (await smtp.waitFor(admin.user.email, (m) => tokenInLink(m.text, '/verify-email') !== first)).text,
      '/verify-email',
    )!;
    expect((await post('/auth/verify-email', { token: first })).statusCode).toBe(400);
    expect((await post('/auth/verify-email', { token: second })).statusCode).toBe(200);
  });

  it('forgot-password answers 202 alike for known and unknown addresses; reset revokes every session', async () => {
    const admin = await registerTenant(t);
    const laptop = await login(t, admin.user.email);
    const unknown = await post('/auth/forgot-password', { email: uniqueEmail('ghost') });
    const known = await post('/auth/forgot-password', { email: admin.user.email.toUpperCase() });
    expect(unknown.statusCode).toBe(202);
    expect(known.statusCode).toBe(202);
    expect(unknown.body).toBe(known.body);

    const mail = await smtp.waitFor(admin.user.email, (m) => m.text.includes('/reset-password'));
    expect(mail.subject).toMatch(/reset/i);
    expect(mail.html).toContain('/reset-password?token=');
    const token = tokenInLink(mail.text, '/reset-password')!;
    const stored = await t.platform.db
      .selectFrom('one_time_tokens')
      .select('token_hash')
      .where('user_id', '=', admin.user.id)
      .execute();
    for (const row of stored) expect(row.token_hash.toString('base64url')).not.toBe(token);

    expect((await post('/auth/reset-password', { token, password: 'password1234' })).json().code).toBe(
      'weak_password',
    );
    const reset = await post('/auth/reset-password', { token, password: NEW_PASSWORD });
    expect(reset.statusCode).toBe(204);
    expect((await me(admin.accessToken)).statusCode).toBe(401);
    expect((await me(laptop.accessToken)).statusCode).toBe(401);
    expect((await post('/auth/refresh', { refresh_token: laptop.refreshToken })).statusCode).toBe(401);
    const reused = await post('/auth/reset-password', { token, password: 'yet another passphrase' });
    expect(reused.statusCode).toBe(400);
    expect(reused.json().code).toBe('invalid_token');
    expect((await post('/auth/login', { email: admin.user.email, password: TEST_PASSWORD })).statusCode).toBe(
      401,
    );
    expect((await post('/auth/login', { email: admin.user.email, password: NEW_PASSWORD })).statusCode).toBe(
      200,
    );
  });

  it('a new password refused as the email leaves the reset link usable', async () => {
    const admin = await registerTenant(t);
    await post('/auth/forgot-password', { email: admin.user.email });
    const token = tokenInLink(
      (await smtp.waitFor(admin.user.email, (m) => m.text.includes('/reset-password'))).text,
      '/reset-password',
    )!;
    const weak = await post('/auth/reset-password', { token, password: admin.user.email });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().code).toBe('weak_password');
    expect((await me(admin.accessToken)).statusCode).toBe(200);
    expect((await post('/auth/reset-password', { token, password: NEW_PASSWORD })).statusCode).toBe(204);
    expect((await post('/auth/login', { email: admin.user.email, password: NEW_PASSWORD })).statusCode).toBe(
      200,
    );
  });

  it('a reset token expires after 30 minutes', async () => {
    const admin = await registerTenant(t);
    await post('/auth/forgot-password', { email: admin.user.email });
    const token = tokenInLink(
      (await smtp.waitFor(admin.user.email, (m) => m.text.includes('/reset-password'))).text,
      '/reset-password',
    )!;
    const row = await t.platform.db
      .selectFrom('one_time_tokens')
      .select(['created_at', 'expires_at'])
      .where('user_id', '=', admin.user.id)
      .where('purpose', '=', 'reset')
      .executeTakeFirstOrThrow();
    expect(row.expires_at.getTime() - row.created_at.getTime()).toBeGreaterThan(29 * 60_000);
    expect(row.expires_at.getTime() - row.created_at.getTime()).toBeLessThanOrEqual(30 * 60_000 + 1000);
    await t.platform.db
      .updateTable('one_time_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('user_id', '=', admin.user.id)
      .execute();
    const expired = await post('/auth/reset-password', { token, password: NEW_PASSWORD });
    expect(expired.statusCode).toBe(400);
    expect(expired.json().code).toBe('invalid_token');
  });

  it('change-password refuses a wrong current password, then revokes every other session', async () => {
    const admin = await registerTenant(t);
    const phone = await login(t, admin.user.email);
    const wrong = await post(
      '/auth/change-password',
      { current_password: 'not my password at all', new_password: NEW_PASSWORD },
      admin.auth,
    );
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe('invalid_credentials');
    const changed = await post(
      '/auth/change-password',
      { current_password: TEST_PASSWORD, new_password: NEW_PASSWORD },
      admin.auth,
    );
    expect(changed.statusCode).toBe(204);
    expect((await me(admin.accessToken)).statusCode).toBe(200);
    expect((await me(phone.accessToken)).statusCode).toBe(401);
    expect((await post('/auth/refresh', { refresh_token: admin.refreshToken })).statusCode).toBe(200);
    expect((await post('/auth/login', { email: admin.user.email, password: NEW_PASSWORD })).statusCode).toBe(
      200,
    );
  });

  it('change-password names new_password in the errors of a weak or short new password', async () => {
    const admin = await registerTenant(t);
    for (const [newPassword, code] of [
      ['password1234', 'weak_password'],
      [admin.user.email, 'weak_password'],
      ['short-pass', 'validation_failed'],
    ]) {
      const refused = await post(
        '/auth/change-password',
        { current_password: TEST_PASSWORD, new_password: newPassword },
        admin.auth,
      );
      expect(refused.statusCode, newPassword).toBe(400);
      expect(refused.json()).toMatchObject({
        code,
        errors: [{ path: 'new_password', message: expect.any(String) }],
      });
    }
    expect((await me(admin.accessToken)).statusCode).toBe(200);
  });

  it('change-password refuses the current password as the new one, and signs nobody out', async () => {
    const admin = await registerTenant(t);
    const phone = await login(t, admin.user.email);
    const same = await post(
      '/auth/change-password',
      { current_password: TEST_PASSWORD, new_password: TEST_PASSWORD },
      admin.auth,
    );
    expect(same.statusCode).toBe(400);
    expect(same.json()).toMatchObject({
      code: 'validation_failed',
      errors: [{ path: 'new_password', message: 'must differ from the current password' }],
    });
    expect((await me(phone.accessToken)).statusCode).toBe(200);
    expect((await post('/auth/login', { email: admin.user.email, password: TEST_PASSWORD })).statusCode).toBe(
      200,
    );
  });

  it('a wrong password and an unknown email take about the same time', async () => {
    const admin = await registerTenant(t);
    const timeOf = async (email: string) => {
      const started = process.hrtime.bigint();
      const response = await post('/auth/login', { email, password: 'wrong password here' });
      expect(response.statusCode).toBe(401);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const known: number[] = [];
    const unknown: number[] = [];
    await timeOf(uniqueEmail('warmup'));
    for (let i = 0; i < 8; i += 1) {
      known.push(await timeOf(admin.user.email));
      unknown.push(await timeOf(uniqueEmail('nobody')));
    }
    const [a, b] = [median(known), median(unknown)];
    // Both pay one argon2id verification (tens of ms); without the dummy hash the unknown one would take ~1 ms.
    expect(Math.min(a, b) / Math.max(a, b)).toBeGreaterThan(0.6);
    expect(Math.min(a, b)).toBeGreaterThan(5);
  });
});

describe.each([
  { label: 'in-process', redis: false },
  { label: 'Redis', redis: true },
])('auth: login throttling ($label)', ({ redis }) => {
  let t: TestApp;
  const run = redis ? redisUp : postgresUp;

  beforeAll(async () => {
    if (!run) return;
    t = await createTestApp({
      redis,
      env: { RATE_LIMIT_LOGIN_PER_MINUTE: '3', RATE_LIMIT_REGISTER_PER_HOUR: '50' },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const attempt = (email: string, password: string, ip = '203.0.113.1') =>
    t.app.inject({ method: 'POST', url: '/auth/login', payload: { email, password }, remoteAddress: ip });

  it.runIf(run)(
    'after repeated failures for an email answers 429 with Retry-After, even for the right password',
    async () => {
      const admin = await registerTenant(t);
      for (let i = 0; i < 3; i += 1) {
        expect((await attempt(admin.user.email, 'wrong password here', `198.51.100.${i}`)).statusCode).toBe(
          401,
        );
      }
      const limited = await attempt(admin.user.email, TEST_PASSWORD, '198.51.100.9');
      expect(limited.statusCode).toBe(429);
      expect(limited.json().code).toBe('rate_limited');
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(limited.headers['ratelimit-limit']).toBe('3');
      expect(limited.headers['ratelimit-remaining']).toBe('0');
      expect(Number(limited.headers['ratelimit-reset'])).toBeGreaterThan(0);

      // Soft lockout: a password reset by the mailbox owner lifts it at once.
      await t.app.inject({
        method: 'POST',
        url: '/auth/forgot-password',
        payload: { email: admin.user.email },
      });
      const auth = t.modules.list.find((module) => module.name === 'auth') as AuthModule;
      const deadline = Date.now() + 5000;
      let token: string | null = null;
      while (!token && Date.now() < deadline) {
        const mail = auth.mailer
          .outbox()
          .filter((m) => m.to === admin.user.email && m.text.includes('/reset-password'))
          .at(-1);
        token = mail ? tokenInLink(mail.text, '/reset-password') : null;
        if (!token) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(token).not.toBeNull();
      const reset = await t.app.inject({
        method: 'POST',
        url: '/auth/reset-password',
        payload: { token, password: NEW_PASSWORD },
      });
      expect(reset.statusCode).toBe(204);
      expect((await attempt(admin.user.email, NEW_PASSWORD, '198.51.100.10')).statusCode).toBe(200);
    },
  );

  it.runIf(run)(
    'a device the address signed in on before is not locked out by failures elsewhere, and has its own limit',
    async () => {
      const [owner, stranger] = [await registerTenant(t), await registerTenant(t)];
      const signIn = (email: string, password: string, ip: string, deviceToken?: string) =>
        t.app.inject({
          method: 'POST',
          url: '/auth/login',
          payload: { email, password, ...(deviceToken ? { device_token: deviceToken } : {}) },
          remoteAddress: ip,
        });
      const first = await signIn(owner.user.email, TEST_PASSWORD, '198.51.100.20');
      expect(first.statusCode).toBe(200);
      const deviceToken = first.json<{ device_token: string }>().device_token;
      const strangersToken = (await signIn(stranger.user.email, TEST_PASSWORD, '198.51.100.21')).json<{
        device_token: string;
      }>().device_token;

      // An attacker fails from elsewhere until the address is locked.
      for (let i = 0; i < 3; i += 1)
        expect(
          (await signIn(owner.user.email, 'wrong password here', `203.0.113.${50 + i}`)).statusCode,
        ).toBe(401);
      expect((await signIn(owner.user.email, TEST_PASSWORD, '198.51.100.22')).statusCode).toBe(429);
      // Another address's token, or a made-up one, counts for nothing.
      expect(
        (await signIn(owner.user.email, TEST_PASSWORD, '198.51.100.23', strangersToken)).statusCode,
      ).toBe(429);
      expect(
        (await signIn(owner.user.email, TEST_PASSWORD, '198.51.100.24', `${deviceToken.slice(0, -4)}AAAA`))
          .statusCode,
      ).toBe(429);

      // The owner's device signs in, and gets a token for next time.
      const known = await signIn(owner.user.email, TEST_PASSWORD, '198.51.100.25', deviceToken);
      expect(known.statusCode).toBe(200);
      const next = known.json<{ device_token: string }>().device_token;
      expect(next).toEqual(expect.any(String));

      // Its token is limited on its own: whoever holds it cannot guess on without end.
      for (let i = 0; i < 3; i += 1)
        expect(
          (await signIn(owner.user.email, 'wrong password here', `198.51.100.${30 + i}`, next)).statusCode,
        ).toBe(401);
      expect((await signIn(owner.user.email, TEST_PASSWORD, '198.51.100.40', next)).statusCode).toBe(429);
    },
  );

  it.runIf(run)('limits failures per IP across emails', async () => {
    const ip = '192.0.2.77';
    for (let i = 0; i < 3; i += 1)
      expect((await attempt(uniqueEmail(), 'wrong password here', ip)).statusCode).toBe(401);
    const limited = await attempt(uniqueEmail(), 'wrong password here', ip);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    // Another address is not affected.
    expect((await attempt(uniqueEmail(), 'wrong password here', '192.0.2.78')).statusCode).toBe(401);
  });

  // Every attempt spends before its password is checked, all within milliseconds: exactly the limit's
  // worth are checked (401), the rest refused (429), however many run at once.
  const limitsHeld = (responses: { statusCode: number }[]) =>
    expect(responses.map((response) => response.statusCode).sort()).toEqual([
      ...Array<number>(3).fill(401),
      ...Array<number>(responses.length - 3).fill(429),
    ]);

  it.runIf(run)('parallel wrong passwords cannot outrun the limits', async () => {
    const admin = await registerTenant(t);
    // One email from many addresses: the email's bucket holds.
    const byEmail = await Promise.all(
      Array.from({ length: 20 }, (_, i) => attempt(admin.user.email, 'wrong password here', `198.18.0.${i}`)),
    );
    // One address, many emails: the IP's bucket holds.
    const byIp = await Promise.all(
      Array.from({ length: 20 }, () => attempt(uniqueEmail(), 'wrong password here', '198.18.1.1')),
    );
    for (const responses of [byEmail, byIp]) {
      limitsHeld(responses);
      for (const response of responses.filter((r) => r.statusCode === 429))
        expect(response.headers['retry-after']).toBeDefined();
    }
  });

  it.runIf(run)('parallel wrong current passwords in change-password cannot outrun the limit', async () => {
    const admin = await registerTenant(t);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.app.inject({
          method: 'POST',
          url: '/auth/change-password',
          payload: { current_password: 'not my password at all', new_password: NEW_PASSWORD },
          headers: admin.auth,
        }),
      ),
    );
    limitsHeld(responses);
  });

  it.runIf(run)('a successful login does not count as a failure', async () => {
    const admin = await registerTenant(t);
    for (let i = 0; i < 6; i += 1)
      expect((await attempt(admin.user.email, TEST_PASSWORD, '192.0.2.99')).statusCode).toBe(200);
  });
});

describe.runIf(postgresUp)('auth: registration throttling', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_REGISTER_PER_HOUR: '2' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('limits registrations per IP per hour with 429', async () => {
    const register = () =>
      t.app.inject({
        method: 'POST',
        url: '/auth/register',
        remoteAddress: '203.0.113.50',
        payload: { email: uniqueEmail(), password: TEST_PASSWORD, name: 'N', tenant_name: 'T' },
      });
    expect((await register()).statusCode).toBe(201);
    expect((await register()).statusCode).toBe(201);
    const third = await register();
    expect(third.statusCode).toBe(429);
    expect(third.json().code).toBe('rate_limited');
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(60);
  });
});
