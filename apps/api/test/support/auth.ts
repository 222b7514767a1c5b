import { randomBytes } from 'node:crypto';
import type { Me, RegisterAnswer, TokenAnswer } from '@tessera/contracts';
import type { FastifyInstance } from 'fastify';
import type { AuthModule } from '../../src/modules/auth';
import type { TestApp } from './app';

/**
 * Real users for tests, made through the real API: registration, invitation, login. Nothing here
 * forges a token.
 */
export const TEST_PASSWORD = 'correct horse battery staple';

export type AuthHeaders = Record<'authorization', string>;

export interface TestUser {
  accessToken: string;
  refreshToken: string;
  user: Me;
  auth: AuthHeaders;
}

export interface TestTenant extends TestUser {
  tenant: { id: string; name: string };
  password: string;
}

export interface RegisterOverrides {
  email?: string;
  password?: string;
  name?: string;
  tenant_name?: string;
}

type AppLike = FastifyInstance | TestApp;

const fastifyOf = (target: AppLike): FastifyInstance => ('inject' in target ? target : target.app);

export function uniqueEmail(label = 'user'): string {
  return `${label}-${randomBytes(6).toString('hex')}@example.test`;
}

export function bearer(accessToken: string): AuthHeaders {
  return { authorization: `Bearer ${accessToken}` };
}

/** Registers a new tenant with its first admin (roles admin, user), a unique email each call. */
export async function registerTenant(
  target: AppLike,
  overrides: RegisterOverrides = {},
): Promise<TestTenant> {
  const body = {
    email: overrides.email ?? uniqueEmail('admin'),
    password: overrides.password ?? TEST_PASSWORD,
    name: overrides.name ?? 'Ada Admin',
    tenant_name: overrides.tenant_name ?? `Shop ${randomBytes(3).toString('hex')}`,
  };
  const response = await fastifyOf(target).inject({ method: 'POST', url: '/auth/register', payload: body });
  if (response.statusCode !== 201)
    throw new Error(`register failed: ${response.statusCode} ${response.body}`);
  const answer = response.json<RegisterAnswer>();
  return {
    accessToken: answer.access_token,
    refreshToken: answer.refresh_token,
    user: answer.user,
    tenant: answer.tenant,
    auth: bearer(answer.access_token),
    password: body.password,
  };
}

/** Signs in; throws unless the answer is 200. */
export async function login(
  target: AppLike,
  email: string,
  password = TEST_PASSWORD,
  tenantId?: string,
): Promise<TestUser> {
  const response = await fastifyOf(target).inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password, ...(tenantId ? { tenant_id: tenantId } : {}) },
  });
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`);
  const answer = response.json<TokenAnswer>();
  return {
    accessToken: answer.access_token,
    refreshToken: answer.refresh_token,
    user: answer.user,
    auth: bearer(answer.access_token),
  };
}

function authModuleOf(testApp: TestApp): AuthModule {
  const auth = testApp.modules.list.find((module) => module.name === 'auth') as AuthModule | undefined;
  if (!auth) throw new Error('the auth module is not wired in');
  return auth;
}

/** The token in the last link to `page` mailed to `email` by the in-memory mailer (no SMTP_URL). */
export async function mailedToken(
  testApp: TestApp,
  email: string,
  page: string,
  timeoutMs = 5000,
): Promise<string> {
  const mailer = authModuleOf(testApp).mailer;
  if (mailer.smtp)
    throw new Error(
      'mailedToken reads the in-memory mailer; this app sends over SMTP (use test/support/smtp.ts)',
    );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mail = mailer
      .outbox()
      .filter((sent) => sent.to.toLowerCase() === email.toLowerCase() && sent.text.includes(page))
      .at(-1);
    const token = mail ? tokenInLink(mail.text, page) : null;
    if (token) return token;
    if (Date.now() > deadline) throw new Error(`no mail with a ${page} link reached ${email}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The `token` query parameter of the first link to `page` in a mail body. */
export function tokenInLink(body: string, page: string): string | null {
  for (const match of body.matchAll(/https?:\/\/[^\s"<>]+/g)) {
    const url = new URL(match[0].replace(/&amp;/g, '&'));
    if (url.pathname.endsWith(page)) return url.searchParams.get('token');
  }
  return null;
}

/**
 * Adds a member with the given roles to the admin's tenant through the real flow: the admin
 * invites, the invitee registers with the mailed invitation token. Needs the in-memory mailer
 * (createTestApp's default, no SMTP_URL).
 */
export async function addMember(
  testApp: TestApp,
  admin: { auth: AuthHeaders },
  roles: string[],
  overrides: { email?: string; name?: string; password?: string } = {},
): Promise<TestUser & { password: string }> {
  const email = overrides.email ?? uniqueEmail(roles[0] ?? 'member');
  const password = overrides.password ?? TEST_PASSWORD;
  const invited = await testApp.app.inject({
    method: 'POST',
    url: '/tenants/current/invitations',
    headers: admin.auth,
    payload: { email, roles },
  });
  if (invited.statusCode !== 201) throw new Error(`invitation failed: ${invited.statusCode} ${invited.body}`);
  const token = await mailedToken(testApp, email, '/accept-invitation');
  const response = await testApp.app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: {
      email,
      password,
      name: overrides.name ?? `Member ${roles.join(' ')}`,
      invitation_token: token,
    },
  });
  if (response.statusCode !== 201) throw new Error(`joining failed: ${response.statusCode} ${response.body}`);
  const answer = response.json<RegisterAnswer>();
  return {
    accessToken: answer.access_token,
    refreshToken: answer.refresh_token,
    user: answer.user,
    auth: bearer(answer.access_token),
    password,
  };
}
