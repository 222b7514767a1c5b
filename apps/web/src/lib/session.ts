import type { Web } from '@tessera/contracts';
import { ApiError } from './problem';

/**
 * Where the refresh token lives. localStorage, not sessionStorage: a reload and every other tab of
 * the app must be able to use the one session (sessionStorage is per tab, so a second tab would
 * need its own sign-in). The trade-off: script injected into this origin could read it. That is
 * limited by the API's strict CSP (script-src 'self', no inline script), by refresh tokens being
 * single-use (a stolen token that is used after us, or before us, trips the API's reuse
 * detection, which revokes the whole session), and by access tokens living in memory only.
 */
const REFRESH_TOKEN_KEY = 'tessera.refresh_token';
const LOCK_NAME = 'tessera.refresh';
/** Refresh this long before the access token expires, so requests never carry a dying token. */
const EXPIRY_MARGIN_MS = 15_000;

export type SessionStatus = 'loading' | 'signed_in' | 'signed_out';

export interface SessionState {
  status: SessionStatus;
  user: Web.Me | null;
  /** Set when the session ended without the user asking (expired, revoked elsewhere). */
  endedReason: string | null;
}

type AuthMessage = { type: 'tokens'; answer: Web.TokenAnswer } | { type: 'signed_out' };

function readRefreshToken(): string | null {
  try {
    return localStorage.getItem(REFRESH_TOKEN_KEY);
  } catch {
    return null;
  }
}

function writeRefreshToken(token: string | null): void {
  try {
    if (token === null) localStorage.removeItem(REFRESH_TOKEN_KEY);
    else localStorage.setItem(REFRESH_TOKEN_KEY, token);
  } catch {
    // storage disabled: the session lasts as long as this tab's memory
  }
}

/**
 * The signed-in session of this browser: the access token in memory, the refresh token in
 * storage, and one refresh at a time across every tab. The API rotates refresh tokens and treats
 * a spent one presented again as theft, so two tabs refreshing at once would sign the user out:
 * the Web Locks API serializes refreshes between tabs, the holder reads the newest refresh token
 * from storage inside the lock, and BroadcastChannel hands the new access token to the other tabs.
 */
export class SessionManager {
  private accessToken: string | null = null;
  private accessExpiresAt = 0;
  private refreshing: Promise<string | null> | null = null;
  private state: SessionState = { status: 'loading', user: null, endedReason: null };
  private readonly listeners = new Set<() => void>();
  private readonly channel: BroadcastChannel | null;

  constructor() {
    this.channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('tessera.auth') : null;
    this.channel?.addEventListener('message', (event: MessageEvent<AuthMessage>) => {
      const message = event.data;
      if (message.type === 'tokens') this.adopt(message.answer, false);
      else this.clear('You were signed out in another tab.', false);
    });
  }

  getState = (): SessionState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private setState(next: SessionState): void {
    this.state = next;
    for (const listener of this.listeners) listener();
  }

  /** Restores the session at start-up from the stored refresh token, if there is one. */
  async start(): Promise<void> {
    if (!readRefreshToken()) {
      this.setState({ status: 'signed_out', user: null, endedReason: null });
      return;
    }
    try {
      await this.refresh(null);
    } catch {
      // The server could not be reached: keep the stored token for the next attempt.
      if (this.state.status === 'loading')
        this.setState({ status: 'signed_out', user: null, endedReason: null });
    }
  }

  /** Takes a token answer (login, register, refresh, or another tab's refresh). */
  adopt(answer: Web.TokenAnswer, broadcast = true): void {
    this.accessToken = answer.access_token;
    this.accessExpiresAt = Date.now() + answer.expires_in * 1000;
    if (broadcast) {
      writeRefreshToken(answer.refresh_token);
      this.channel?.postMessage({ type: 'tokens', answer } satisfies AuthMessage);
    }
    this.setState({ status: 'signed_in', user: answer.user, endedReason: null });
  }

  /** Updates the user (after /auth/me, verification) without touching the tokens. */
  setUser(user: Web.Me): void {
    if (this.state.status === 'signed_in') this.setState({ ...this.state, user });
  }

  /** Forgets the session here (and in the other tabs when `broadcast`). */
  clear(reason: string | null, broadcast = true): void {
    this.accessToken = null;
    this.accessExpiresAt = 0;
    if (broadcast) {
      writeRefreshToken(null);
      this.channel?.postMessage({ type: 'signed_out' } satisfies AuthMessage);
    }
    this.setState({ status: 'signed_out', user: null, endedReason: reason });
  }

  /** When the current access token expires (ms since the epoch; 0 without one). */
  accessExpiry(): number {
    return this.accessToken ? this.accessExpiresAt : 0;
  }

  private fresh(): boolean {
    return this.accessToken !== null && Date.now() < this.accessExpiresAt - EXPIRY_MARGIN_MS;
  }

  /** An access token good for the next request, refreshing first when it is about to expire. */
  async token(): Promise<string | null> {
    if (this.fresh()) return this.accessToken;
    if (this.state.status === 'signed_out') return null;
    return this.refresh(this.accessToken);
  }

  /**
   * Gets a new access token. `stale` is the token the caller found wanting: if another tab (or
   * an earlier call here) replaced it meanwhile, that newer token is the answer and no refresh
   * token is spent.
   */
  refresh(stale: string | null): Promise<string | null> {
    this.refreshing ??= this.withLock(async () => {
      if (this.accessToken !== stale && this.fresh()) return this.accessToken;
      // Read inside the lock: the tab that held it before may have rotated the token.
      const refreshToken = readRefreshToken();
      if (!refreshToken) {
        this.clear('Your session has ended. Please sign in again.', false);
        return null;
      }
      let response: Response;
      try {
        response = await fetch('/auth/refresh', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ refresh_token: refreshToken }),
        });
      } catch {
        throw new ApiError(0, { title: 'Network error' });
      }
      if (response.ok) {
        const answer = (await response.json()) as Web.TokenAnswer;
        this.adopt(answer);
        return answer.access_token;
      }
      if (response.status === 401 || response.status === 400) {
        this.clear('Your session has ended. Please sign in again.');
        return null;
      }
      const problem = (await response.json().catch(() => ({}))) as Record<string, unknown>;
      throw new ApiError(response.status, problem);
    }).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private withLock<T>(work: () => Promise<T>): Promise<T> {
    if (typeof navigator !== 'undefined' && 'locks' in navigator) {
      return navigator.locks.request(LOCK_NAME, work) as Promise<T>;
    }
    return work();
  }
}

export const session = new SessionManager();
