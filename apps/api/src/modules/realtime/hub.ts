import {
  REALTIME_CLOSE,
  type EventEnvelope,
  type RealtimeChannel,
  type RealtimeEventMessage,
  type ServerMessage,
} from '@tessera/contracts';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { Principal } from '../../platform/http/auth-guard';
import { carries, notificationOf } from './channels';

type ReplayableChannel = Exclude<RealtimeChannel, 'dashboard'>;

/** One channel subscription of one socket. */
export interface Subscription {
  /** While a replay runs, live events wait here, so that replayed and live keep their order. */
  pending: EventEnvelope[] | null;
  /** Replayed events that had not reached the stream yet: skipped when they arrive live. */
  skip: Set<string>;
}

/** An authenticated socket. */
export interface Connection {
  socket: WebSocket;
  principal: Principal;
  token: string;
  subscriptions: Map<RealtimeChannel, Subscription>;
}

export interface HubOptions {
  maxBufferedBytes: number;
  logger: Logger;
}

/**
 * The sockets of this process, by tenant, and the fan-out of events to them. An event is
 * serialised once per channel and the same text goes to every socket that may see it.
 */
export class RealtimeHub {
  private readonly byTenant = new Map<string, Set<Connection>>();
  private count = 0;
  dropped = 0;

  constructor(private readonly options: HubOptions) {}

  get size(): number {
    return this.count;
  }

  add(connection: Connection): void {
    let set = this.byTenant.get(connection.principal.tenantId);
    if (!set) this.byTenant.set(connection.principal.tenantId, (set = new Set()));
    if (!set.has(connection)) this.count++;
    set.add(connection);
  }

  remove(connection: Connection): void {
    const set = this.byTenant.get(connection.principal.tenantId);
    if (!set?.delete(connection)) return;
    this.count--;
    if (set.size === 0) this.byTenant.delete(connection.principal.tenantId);
  }

  hasSubscribers(tenantId: string, channel: RealtimeChannel): boolean {
    for (const connection of this.byTenant.get(tenantId) ?? []) {
      if (connection.subscriptions.has(channel)) return true;
    }
    return false;
  }

  connections(): Iterable<Connection> {
    const all = this.byTenant.values();
    return (function* () {
      for (const set of all) yield* set;
    })();
  }

  /** Closes every socket of a revoked session. */
  closeSession(sessionId: string): number {
    let closed = 0;
    for (const connection of [...this.connections()]) {
      if (connection.principal.sessionId !== sessionId) continue;
      this.closeRevoked(connection);
      closed++;
    }
    return closed;
  }

  /** Closes one socket whose session was revoked (4403), and forgets it. */
  closeRevoked(connection: Connection): void {
    this.send(connection, { type: 'error', code: 'unauthenticated', message: 'The session was revoked' });
    connection.socket.close(REALTIME_CLOSE.sessionRevoked, 'session revoked');
    this.remove(connection);
  }

  /** Delivers a committed event to the sockets of its tenant subscribed to a channel carrying it. */
  deliver(event: EventEnvelope): void {
    const set = this.byTenant.get(event.tenant_id);
    if (!set) return;
    // Encoded once per channel: every socket is sent the same bytes.
    const texts = new Map<ReplayableChannel, Buffer | null>();
    for (const connection of set) {
      for (const [channel, subscription] of connection.subscriptions) {
        if (channel === 'dashboard') continue;
        if (subscription.pending) {
          if (carries(channel, event)) subscription.pending.push(event);
          continue;
        }
        if (subscription.skip.delete(event.id)) continue;
        let text = texts.get(channel);
        if (text === undefined) {
          text = carries(channel, event) ? encode(eventMessage(channel, event)) : null;
          texts.set(channel, text);
        }
        if (text !== null && this.mayReceive(connection, channel, event)) this.sendText(connection, text);
      }
    }
  }

  /** Sends one message on a channel to every subscriber of a tenant (the dashboard's figures). */
  broadcast(tenantId: string, channel: RealtimeChannel, message: RealtimeEventMessage): void {
    const set = this.byTenant.get(tenantId);
    if (!set) return;
    const text = encode(message);
    for (const connection of set) if (connection.subscriptions.has(channel)) this.sendText(connection, text);
  }

  /** Whether this user may see this event on this channel (notifications: per user). */
  mayReceive(connection: Connection, channel: ReplayableChannel, event: EventEnvelope): boolean {
    if (channel !== 'notifications') return true;
    const notice = notificationOf(event);
    return notice !== null && connection.principal.permissions.includes(notice.permission);
  }

  send(connection: Connection, message: ServerMessage): void {
    this.sendText(connection, encode(message));
  }

  /**
   * A socket that does not read its messages is dropped rather than buffered without bound:
   * once its unsent backlog passes the limit it is closed, and may reconnect and resume.
   */
  sendText(connection: Connection, bytes: Buffer): void {
    const { socket } = connection;
    if (socket.readyState !== WebSocket.OPEN) return;
    if (socket.bufferedAmount > this.options.maxBufferedBytes) {
      this.dropped++;
      this.options.logger.warn(
        { user_id: connection.principal.userId, buffered: socket.bufferedAmount },
        'dropping a slow WebSocket consumer',
      );
      this.remove(connection);
      socket.close(REALTIME_CLOSE.slowConsumer, 'slow consumer');
      // close() waits for the peer; a peer that reads nothing would keep the buffer alive.
      setTimeout(() => socket.terminate(), 1000).unref();
      return;
    }
    socket.send(bytes, { binary: false });
  }
}

/** A message as the UTF-8 bytes of its JSON, sent as a text frame. */
function encode(message: ServerMessage): Buffer {
  return Buffer.from(JSON.stringify(message), 'utf8');
}

export function eventMessage(channel: ReplayableChannel, event: EventEnvelope): RealtimeEventMessage {
  return {
    type: 'event',
    channel,
    id: event.id,
    event_type: event.type,
    data: channel === 'notifications' ? notificationOf(event)?.data : event.data,
    occurred_at: event.occurred_at,
  };
}
