import type { Permission, Web } from '@tessera/contracts';
import { useCallback, useSyncExternalStore } from 'react';
import { api } from './api';
import { session, type SessionState } from './session';

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

export async function login(input: LoginInput): Promise<Web.TokenAnswer> {
  const answer = await api<Web.TokenAnswer>('/auth/login', { method: 'POST', body: input, auth: false });
  session.adopt(answer);
  return answer;
}

export type RegisterInput =
  | { email: string; password: string; name: string; tenant_name: string }
  | { email: string; password: string; name: string; invitation_token: string };

export async function register(input: RegisterInput): Promise<Web.TokenAnswer> {
  const answer = await api<Web.TokenAnswer>('/auth/register', { method: 'POST', body: input, auth: false });
  session.adopt(answer);
  return answer;
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
