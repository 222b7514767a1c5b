import type { Web } from '@tessera/contracts';
import { session } from './session';

export type RealtimeStatus = 'connecting' | 'live' | 'offline';
export type RealtimeEvent = Extract<Web.WsServerMessage, { type: 'event'; channel: Web.RealtimeChannel }>;

const HEARTBEAT_TIMEOUT_MS = 70_000;
const MAX_BACKOFF_MS = 15_000;

function isEvent(message: Web.WsServerMessage): message is RealtimeEvent {
  return message.type === 'event' && typeof message.channel === 'string' && typeof message.id === 'string';
}

/**
 * One WebSocket to `/ws` for the signed-in tab. Subscribes to the channels the user may read,
 * remembers the last event id of each, and after the connection drops reconnects (backing off,
 * at once when the browser comes back online) and resumes each channel from that id, so no
 * event is missed.
 */
export class RealtimeClient {
  private socket: WebSocket | null = null;
  private readonly lastEventIds = new Map<Web.RealtimeChannel, string>();
  private attempts = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  status: RealtimeStatus = 'connecting';

  constructor(
    private readonly channels: Web.RealtimeChannel[],
    private readonly onEvent: (event: RealtimeEvent) => void,
    private readonly onStatus: (status: RealtimeStatus) => void,
  ) {
    window.addEventListener('online', this.reconnectNow);
    window.addEventListener('offline', this.dropNow);
  }

  start(): void {
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener('online', this.reconnectNow);
    window.removeEventListener('offline', this.dropNow);
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.heartbeatTimer);
    this.socket?.close(1000);
    this.socket = null;
  }

  private setStatus(status: RealtimeStatus): void {
    this.status = status;
    this.onStatus(status);
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
    this.setStatus('connecting');
    let token: string | null;
    try {
      token = await session.token();
    } catch {
      this.scheduleReconnect();
      return;
    }
    if (!token || this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    // The token goes in the query, which the server reads before accepting the socket; it is a
    // short-lived access token, never the refresh token.
    const socket = new WebSocket(`${scheme}//${location.host}/ws?access_token=${encodeURIComponent(token)}`);
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.attempts = 0;
      for (const channel of this.channels) {
        const lastEventId = this.lastEventIds.get(channel);
        this.send({ type: 'subscribe', channel, ...(lastEventId ? { last_event_id: lastEventId } : {}) });
      }
      this.setStatus('live');
      this.armHeartbeat();
    });
    socket.addEventListener('message', (message: MessageEvent<string>) => {
      this.armHeartbeat();
      let parsed: Web.WsServerMessage;
      try {
        parsed = JSON.parse(message.data) as Web.WsServerMessage;
      } catch {
        return;
      }
      if (isEvent(parsed)) {
        this.lastEventIds.set(parsed.channel, parsed.id);
        this.onEvent(parsed);
      } else if (parsed.type === 'ping') {
        this.send({ type: 'ping' });
      }
    });
    socket.addEventListener('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      clearTimeout(this.heartbeatTimer);
      this.scheduleReconnect();
    });
  }

  private send(message: Web.WsClientMessage): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  /** The server sends heartbeats: a silent socket is a dead one (the network dropped). */
  private armHeartbeat(): void {
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = setTimeout(() => this.socket?.close(), HEARTBEAT_TIMEOUT_MS);
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.setStatus('offline');
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempts) * (0.75 + Math.random() * 0.5);
    this.attempts += 1;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }
}
