import type { Permission, Web } from '@tessera/contracts';
import { useCallback, useSyncExternalStore } from 'react';
import { api } from './api';
import { ApiError } from './problem';
import { session, type SessionState } from './session';
import { browserTimeZone } from './time-zones';

export function useSession(): SessionState {
  return useSyncExternalStore(session.subscribe, session.getState);
}

export function useUser(): Web.Me {
  const { user } = useSession();
  if (!user) throw new Error('useUser outside a signed-in page');
  return user;
}

/** Whether the signed-in user holds a permission (the token's `permissions`). */
export function useCan(): (permission: Permission) => boolean {
  const { user } = useSession();
  return useCallback((permission: Permission) => user?.permissions.includes(permission) ?? false, [user]);
}

export interface LoginInput {
  email: string;
  password: string;
  tenant_id?: string;
}

const BUSINESSES_KEY = 'tessera.businesses';

export interface KnownBusiness {
  id: string;
  name: string;
}

function readBusinesses(): Record<string, KnownBusiness[]> {
  try {
    return JSON.parse(localStorage.getItem(BUSINESSES_KEY) ?? '{}') as Record<string, KnownBusiness[]>;
  } catch {
    return {};
  }
}

/**
 * The businesses an e-mail address has signed in to on this device. The API signs a user with
 * several memberships in to the first unless `tenant_id` says otherwise, and lists them only to a
 * signed-in user (`GET /auth/tenants`), so the sign-in page offers the ones this device has seen.
 */
export function knownBusinesses(email: string): KnownBusiness[] {
  return readBusinesses()[email.trim().toLowerCase()] ?? [];
}

function writeBusinesses(email: string, businesses: KnownBusiness[]): void {
  const all = readBusinesses();
  all[email.toLowerCase()] = businesses;
  try {
    localStorage.setItem(BUSINESSES_KEY, JSON.stringify(all));
  } catch {
    // storage disabled: nothing to remember
  }
}

/** Takes a token answer as the session, remembering its business first in the address's list. */
function adopt(answer: Web.TokenAnswer): Web.TokenAnswer {
  const list = knownBusinesses(answer.user.email);
  const known = list.find((business) => business.id === answer.user.tenant_id);
  const name = answer.tenant?.name ?? known?.name ?? `Business ${answer.user.tenant_id.slice(0, 8)}`;
  writeBusinesses(answer.user.email, [
    { id: answer.user.tenant_id, name },
    ...list.filter((business) => business.id !== answer.user.tenant_id),
  ]);
  session.adopt(answer);
  return answer;
}

/** The businesses the signed-in user belongs to, the current one marked. */
export async function myBusinesses(email: string): Promise<Web.Membership[]> {
  const { data } = await api<{ data: Web.Membership[] }>('/auth/tenants');
  // All of them, the current one first, so the sign-in page can offer them next time.
  const ordered = [...data].sort((a, b) => Number(b.current) - Number(a.current));
  writeBusinesses(
    email,
    ordered.map(({ id, name }) => ({ id, name })),
  );
  return data;
}

/** Acts in another business of the user: a new session there, and this one ends. */
export async function switchBusiness(tenantId: string): Promise<Web.TokenAnswer> {
  const answer = await api<Web.TokenAnswer>('/auth/switch-tenant', {
    method: 'POST',
    body: { tenant_id: tenantId },
  });
  return adopt(answer);
}

const DEVICE_TOKENS_KEY = 'tessera.device-tokens';

/**
 * The device token the API gave the last sign-in of each address on this device: sent with the
 * next, it keeps failed attempts from elsewhere from locking the address out here.
 */
function deviceTokens(): Record<string, string> {
  try {
    return JSON.parse(localStorage.getItem(DEVICE_TOKENS_KEY) ?? '{}') as Record<string, string>;
  } catch {
    return {};
  }
}

function rememberDeviceToken(email: string, token: string): void {
  try {
    localStorage.setItem(DEVICE_TOKENS_KEY, JSON.stringify({ ...deviceTokens(), [email]: token }));
  } catch {
    // storage disabled: the address's own limit applies
  }
}

export async function login(input: LoginInput): Promise<Web.TokenAnswer> {
  const email = input.email.trim().toLowerCase();
  const deviceToken = deviceTokens()[email];
  const answer = await api<Web.LoginAnswer>('/auth/login', {
    method: 'POST',
    body: deviceToken ? { ...input, device_token: deviceToken } : input,
    auth: false,
  });
  rememberDeviceToken(email, answer.device_token);
  return adopt(answer);
}

export type RegisterInput =
  | { email: string; password: string; name: string; tenant_name: string }
  /** Joining by invitation: an existing account keeps its name, and sends none. */
  | { email: string; password: string; name?: string; invitation_token: string };

/**
 * A new business counts its days in the browser's time zone, the one its owner is most likely in.
 * Should the API not know that zone, the business starts in UTC (Settings changes it).
 */
export async function register(input: RegisterInput): Promise<Web.TokenAnswer> {
  const send = (body: RegisterInput & { time_zone?: string }) =>
    api<Web.LoginAnswer & Pick<Web.TokenAnswer, 'tenant'>>('/auth/register', {
      method: 'POST',
      body,
      auth: false,
    });
  const timeZone = 'tenant_name' in input ? browserTimeZone() : undefined;
  const answer = await (timeZone ? send({ ...input, time_zone: timeZone }) : send(input)).catch(
    (error: unknown) => {
      const zoneRefused =
        error instanceof ApiError && error.fieldErrors.some((field) => field.path.endsWith('time_zone'));
      if (timeZone && zoneRefused) return send(input);
      throw error;
    },
  );
  rememberDeviceToken(answer.user.email.toLowerCase(), answer.device_token);
  return adopt(answer);
}

export async function logout(): Promise<void> {
  try {
    await api('/auth/logout', { method: 'POST' });
  } finally {
    session.clear(null);
  }
}

/** Reloads the user (e.g. after verifying the e-mail address in another tab). */
export async function reloadMe(): Promise<Web.Me> {
  const me = await api<Web.Me>('/auth/me');
  session.setUser(me);
  return me;
}
