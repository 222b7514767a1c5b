import type { Web } from '@tessera/contracts';
import { session } from './session';

export type RealtimeStatus = 'connecting' | 'live' | 'offline';
export type RealtimeEvent = Extract<Web.WsServerMessage, { type: 'event'; channel: Web.RealtimeChannel }>;

/** The server pings at the protocol level, which the browser answers unseen: we ping in JSON too. */
const PING_EVERY_MS = 25_000;
/** No message at all for this long: the connection is dead even if the browser has not noticed. */
const SILENCE_LIMIT_MS = 60_000;
const MAX_BACKOFF_MS = 15_000;
/** Renew the socket's token this long before it expires (the server re-checks it on heartbeats). */
const REAUTH_MARGIN_MS = 10_000;

function isEvent(message: Web.WsServerMessage): message is RealtimeEvent {
  return message.type === 'event' && typeof message.channel === 'string' && typeof message.id === 'string';
}

export interface RealtimeHandlers {
  onEvent: (event: RealtimeEvent) => void;
  /** The server could not replay what was missed: the channel's data must be refetched. */
  onGap: (channel: Web.RealtimeChannel) => void;
  onStatus: (status: RealtimeStatus) => void;
}

/**
 * One WebSocket to `/ws` for the signed-in tab. Subscribes to the channels the user may read,
 * remembers the last event id of each, and after the connection drops reconnects (backing off,
 * at once when the browser comes back online) and resumes each channel from that id, so no
 * event is missed. The socket's access token is renewed in place before it expires.
 */
export class RealtimeClient {
  private socket: WebSocket | null = null;
  private readonly lastEventIds = new Map<Web.RealtimeChannel, string>();
  private attempts = 0;
  private token: string | null = null;
  private tokenRefused = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private reauthTimer: ReturnType<typeof setTimeout> | undefined;
  private lastMessageAt = 0;
  private ready = false;
  private stopped = false;
  private readonly unsubscribeSession: () => void;

  constructor(
    private readonly channels: Web.RealtimeChannel[],
    private readonly handlers: RealtimeHandlers,
  ) {
    window.addEventListener('online', this.reconnectNow);
    window.addEventListener('offline', this.dropNow);
    // Another tab, or an API call here, refreshed the token: hand the new one to the socket.
    this.unsubscribeSession = session.subscribe(() => void this.reauthenticate(false));
  }

  start(): void {
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener('online', this.reconnectNow);
    window.removeEventListener('offline', this.dropNow);
    this.unsubscribeSession();
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.reauthTimer);
    clearInterval(this.pingTimer);
    this.socket?.close(1000);
    this.socket = null;
  }

  private readonly reconnectNow = (): void => {
    if (this.stopped || this.socket) return;
    clearTimeout(this.reconnectTimer);
    this.attempts = 0;
    void this.connect();
  };

  private readonly dropNow = (): void => {
    this.socket?.close();
  };

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.handlers.onStatus('connecting');
    let token: string | null;
    try {
      token = this.tokenRefused ? await session.refresh(this.token) : await session.token();
    } catch {
      this.scheduleReconnect();
      return;
    }
    if (!token || this.stopped) return;
    this.token = token;
    this.tokenRefused = false;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    // The token goes in the URL: the server checks it before the upgrade, so the subscriptions sent
    // right after opening find the socket authenticated (an `auth` message is checked
    // asynchronously and could lose that race). It is a short-lived access token; renewals go as
    // `auth` messages on the open socket.
    const socket = new WebSocket(`${scheme}//${location.host}/ws?access_token=${encodeURIComponent(token)}`);
    this.socket = socket;
    this.ready = false;
    socket.addEventListener('open', () => {
      this.lastMessageAt = Date.now();
      for (const channel of this.channels) {
        const lastEventId = this.lastEventIds.get(channel);
        this.send({ type: 'subscribe', channel, ...(lastEventId ? { last_event_id: lastEventId } : {}) });
      }
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => {
        if (Date.now() - this.lastMessageAt > SILENCE_LIMIT_MS) socket.close();
        else this.send({ type: 'ping' });
      }, PING_EVERY_MS);
      this.scheduleReauth();
    });
    socket.addEventListener('message', (message: MessageEvent<string>) => this.receive(message.data));
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      clearInterval(this.pingTimer);
      clearTimeout(this.reauthTimer);
      // Refused before the upgrade (a plain 401 the browser cannot show us) or with 4401.
      if (event.code === 4401 || !this.ready) this.tokenRefused = true;
      this.scheduleReconnect();
    });
  }

  private receive(raw: string): void {
    this.lastMessageAt = Date.now();
    let message: Web.WsServerMessage;
    try {
      message = JSON.parse(raw) as Web.WsServerMessage;
    } catch {
      return;
    }
    if (isEvent(message)) {
      this.lastEventIds.set(message.channel, message.id);
      this.handlers.onEvent(message);
      return;
    }
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.attempts = 0;
        this.handlers.onStatus('live');
        return;
      case 'error':
        if (message.code === 'unauthenticated') this.tokenRefused = true;
        if (message.code === 'replay_gap' && typeof message.channel === 'string') {
          const channel = message.channel as Web.RealtimeChannel;
          this.lastEventIds.delete(channel);
          this.handlers.onGap(channel);
        }
        return;
      default:
        return;
    }
  }

  private send(message: Web.WsClientMessage): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private scheduleReauth(): void {
    clearTimeout(this.reauthTimer);
    const expiry = session.accessExpiry();
    if (!expiry) return;
    const delay = Math.max(1_000, expiry - Date.now() - REAUTH_MARGIN_MS);
    this.reauthTimer = setTimeout(() => void this.reauthenticate(true), delay);
  }

  /** Sends the socket a newer token: on a timer before expiry, or when the session got one. */
  private async reauthenticate(renew: boolean): Promise<void> {
    if (this.stopped || this.socket?.readyState !== WebSocket.OPEN) return;
    let token: string | null;
    try {
      token = renew ? await session.refresh(this.token) : await session.token();
    } catch {
      this.scheduleReauth();
      return;
    }
    if (token && token !== this.token) {
      this.token = token;
      this.send({ type: 'auth', token });
    }
    this.scheduleReauth();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.handlers.onStatus('offline');
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempts) * (0.75 + Math.random() * 0.5);
    this.attempts += 1;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }
}
