import websocket from '@fastify/websocket';
import {
  CHANNEL_PERMISSIONS,
  REALTIME_CLOSE,
  isRealtimeChannel,
  isUuid,
  type ClientMessage,
  type RealtimeChannel,
} from '@tessera/contracts';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type WebSocket from 'ws';
import type { Config } from '../../platform/config';
import { AppError } from '../../platform/errors';
import { bearerToken, type AccessTokenVerifier, type Principal } from '../../platform/http/auth-guard';
import { problems } from '../../platform/http/schemas';
import type { Platform } from '../../platform/platform';
import { carries } from './channels';
import { eventMessage, type Connection, type RealtimeHub, type Subscription } from './hub';
import {
  Gate,
  HEARTBEAT_CHECKS_AT_ONCE,
  MESSAGE_BURST,
  MESSAGE_RATE_PER_SECOND,
  TokenBucket,
  replayConcurrency,
} from './limits';
import { missedEvents } from './replay';

type ReplayableChannel = Exclude<RealtimeChannel, 'dashboard'>;

interface SocketState {
  connection: Connection | null;
  alive: boolean;
  /** The socket's allowance of messages (limits.ts). */
  bucket: TokenBucket;
  /** Set once the socket is closing: what it still sends is ignored, its replays dropped. */
  closing: boolean;
  /** Replays asked for and not started yet, by channel: a newer subscribe replaces an older one. */
  replays: Map<ReplayableChannel, { subscription: Subscription; lastEventId: string }>;
  /** Whether a replay of this socket is running: they run one after the other. */
  replaying: boolean;
}

export interface RealtimeRouteDeps {
  platform: Platform;
  hub: RealtimeHub;
  verifier: AccessTokenVerifier;
}

const MAX_MESSAGE_BYTES = 16 * 1024;

function tokenOf(request: FastifyRequest): string | null {
  const query = request.query as { access_token?: unknown } | undefined;
  if (typeof query?.access_token === 'string' && query.access_token) return query.access_token;
  return bearerToken(request);
}

/** Parses a client message; null when it is not one the protocol knows. */
function parse(raw: WebSocket.RawData): ClientMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(textOf(raw));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const message = value as Record<string, unknown>;
  switch (message.type) {
    case 'auth':
      return typeof message.token === 'string' ? { type: 'auth', token: message.token } : null;
    case 'subscribe':
    case 'unsubscribe':
      if (!isRealtimeChannel(message.channel)) return null;
      if (message.type === 'unsubscribe') return { type: 'unsubscribe', channel: message.channel };
      if (message.last_event_id !== undefined && message.last_event_id !== null) {
        if (typeof message.last_event_id !== 'string' || !isUuid(message.last_event_id)) return null;
        return { type: 'subscribe', channel: message.channel, last_event_id: message.last_event_id };
      }
      return { type: 'subscribe', channel: message.channel };
    case 'ping':
      return { type: 'ping' };
    default:
      return null;
  }
}

/**
 * `GET /ws`: the realtime socket. The access token comes as `?access_token=` (refused with 401
 * before the upgrade when invalid) or in a first `auth` message within REALTIME_AUTH_TIMEOUT_MS.
 * A ping goes out every REALTIME_HEARTBEAT_MS: a socket that missed the previous pong is
 * terminated, and each token is verified again, so a revoked session's sockets close.
 */
export function realtimeRoutes({ platform, hub, verifier }: RealtimeRouteDeps): FastifyPluginAsync {
  const config: Config = platform.config;
  const logger = platform.logger.child({ module: 'realtime' });
  const states = new Map<WebSocket, SocketState>();
  // The replay reads of every socket of this process together, so that resuming sockets cannot
  // take the database pool from the API's requests.
  const replayGate = new Gate(replayConcurrency(config.DATABASE_POOL_SIZE));

  const refuse = (socket: WebSocket, message: string) => {
    socket.send(JSON.stringify({ type: 'error', code: 'unauthenticated', message }));
    socket.close(REALTIME_CLOSE.unauthenticated, 'unauthenticated');
  };

  /** A socket that sends more than its allowance is closed (1008), and nothing more it sent is read. */
  const flooded = (socket: WebSocket, state: SocketState) => {
    state.closing = true;
    state.replays.clear();
    if (state.connection) hub.remove(state.connection);
    logger.warn(
      { user_id: state.connection?.principal.userId, tenant_id: state.connection?.principal.tenantId },
      'closing a WebSocket that sent too many messages',
    );
    socket.close(REALTIME_CLOSE.tooManyMessages, 'too many messages');
    // close() waits for the peer's answer; a peer still flooding would keep the socket alive.
    setTimeout(() => socket.terminate(), 1000).unref();
  };

  /** Gives a socket its verified principal: a new connection in the hub, or a renewed token. */
  const attach = async (socket: WebSocket, state: SocketState, principal: Principal, token: string) => {
    if (state.closing || socket.readyState !== socket.OPEN) return;
    let connection = state.connection;
    if (connection) {
      const same =
        connection.principal.userId === principal.userId &&
        connection.principal.tenantId === principal.tenantId;
      if (!same) return refuse(socket, 'A socket stays with the user it was opened by');
      connection.principal = principal;
      connection.token = token;
    } else {
      connection = state.connection = { socket, principal, token, subscriptions: new Map() };
      hub.add(connection);
      hub.send(connection, { type: 'ready', user_id: principal.userId, tenant_id: principal.tenantId });
    }
    // The session was checked before the socket was in the hub: a logout announced in between
    // found no socket to close. Checked once more now that an announcement would find it.
    const refusal = await verifier.ensureActive(principal).then(
      () => null,
      (error: unknown) => error,
    );
    if (!refusal || state.connection !== connection || connection.principal !== principal) return;
    if (socket.readyState !== socket.OPEN) return;
    if (refusal instanceof AppError && refusal.code === 'unauthenticated')
      return hub.closeRevoked(connection);
    logger.warn({ err: refusal }, 'the session of a new socket could not be checked');
    hub.remove(connection);
    refuse(socket, 'The session could not be checked');
  };

  const subscribe = (
    state: SocketState,
    connection: Connection,
    channel: RealtimeChannel,
    lastEventId?: string,
  ) => {
    const permission = CHANNEL_PERMISSIONS[channel];
    if (permission && !connection.principal.permissions.includes(permission)) {
      hub.send(connection, {
        type: 'error',
        code: 'forbidden',
        channel,
        message: `The ${channel} channel needs the ${permission} permission`,
      });
      return;
    }
    const subscription: Subscription = { pending: lastEventId ? [] : null, skip: new Set() };
    connection.subscriptions.set(channel, subscription);
    if (!lastEventId || channel === 'dashboard') {
      if (channel !== 'dashboard') state.replays.delete(channel);
      subscription.pending = null;
      hub.send(connection, { type: 'subscribed', channel, replayed: 0 });
      return;
    }
    // One replay read at a time per socket: this one waits for the running one to end, in place of
    // any replay of the same channel still waiting (whose subscription this one replaced).
    state.replays.delete(channel);
    state.replays.set(channel, { subscription, lastEventId });
    if (!state.replaying) {
      replayAll(state, connection).catch((error: unknown) => logger.error({ err: error }, 'replay failed'));
    }
  };

  /** Runs a socket's waiting replays, one after the other, until none is left. */
  const replayAll = async (state: SocketState, connection: Connection) => {
    state.replaying = true;
    try {
      for (let next = first(state.replays); next; next = first(state.replays)) {
        const [channel, { subscription, lastEventId }] = next;
        state.replays.delete(channel);
        await replay(state, connection, channel, subscription, lastEventId);
      }
    } finally {
      state.replaying = false;
    }
  };

  const replay = async (
    state: SocketState,
    connection: Connection,
    channel: ReplayableChannel,
    subscription: Subscription,
    lastEventId: string,
  ) => {
    // Replaced by a newer subscribe, unsubscribed or closed: its replay is not wanted any more.
    const wanted = () =>
      !state.closing &&
      connection.socket.readyState === connection.socket.OPEN &&
      connection.subscriptions.get(channel) === subscription;
    const result = await replayGate.run(async () => {
      if (!wanted()) return null;
      return missedEvents(
        platform.db,
        connection.principal.tenantId,
        channel,
        lastEventId,
        config.REALTIME_REPLAY_MAX_EVENTS,
      ).catch((error: unknown) => {
        logger.error({ err: error }, 'replay failed');
        return { kind: 'gap' as const, reason: 'The missed events could not be read; refetch' };
      });
    });
    if (!result || !wanted()) return;
    const replayed = new Set<string>();
    // Only the events sent are counted: the others are activity this socket may not see.
    let sent = 0;
    if (result.kind === 'gap') {
      hub.send(connection, { type: 'error', code: 'replay_gap', channel, message: result.reason });
    } else {
      for (const event of result.events) {
        replayed.add(event.id);
        if (!carries(channel, event) || !hub.mayReceive(connection, channel, event)) continue;
        hub.send(connection, eventMessage(channel, event));
        sent++;
      }
      for (const id of result.unpublished) subscription.skip.add(id);
    }
    // Live events that came during the replay follow it, without those the replay already handled.
    const waiting = subscription.pending ?? [];
    subscription.pending = null;
    for (const event of waiting) {
      subscription.skip.delete(event.id);
      if (!replayed.has(event.id) && hub.mayReceive(connection, channel, event))
        hub.send(connection, eventMessage(channel, event));
    }
    hub.send(connection, { type: 'subscribed', channel, replayed: sent });
  };

  const onMessage = async (socket: WebSocket, state: SocketState, raw: WebSocket.RawData) => {
    const message = parse(raw);
    if (!message) {
      socket.send(JSON.stringify({ type: 'error', code: 'invalid_message', message: 'Unknown message' }));
      return;
    }
    if (message.type === 'auth') {
      const principal = await verifier.verify(message.token).catch(() => null);
      if (!principal) return refuse(socket, 'The access token is not valid');
      return attach(socket, state, principal, message.token);
    }
    const connection = state.connection;
    if (!connection) return refuse(socket, 'Authenticate first: {"type":"auth","token":...}');
    switch (message.type) {
      case 'subscribe':
        return subscribe(state, connection, message.channel, message.last_event_id);
      case 'unsubscribe':
        connection.subscriptions.delete(message.channel);
        if (message.channel !== 'dashboard') state.replays.delete(message.channel);
        return hub.send(connection, { type: 'unsubscribed', channel: message.channel });
      case 'ping':
        return hub.send(connection, { type: 'pong' });
    }
  };

  /**
   * Checks a token again for the sockets holding it: a definite refusal (expired, revoked, not
   * valid) closes them; a failure to check (database or Redis unavailable) leaves them open until
   * the next beat, rather than disconnecting every client. Resolves to that failure, or null.
   */
  const recheck = async (token: string, connections: Connection[]): Promise<unknown> => {
    let principal: Principal;
    try {
      principal = await verifier.verify(token);
    } catch (error) {
      if (!(error instanceof AppError && error.code === 'unauthenticated')) return error;
      for (const connection of connections) {
        // Renewed (an auth message) or closed meanwhile: the refusal is not its own.
        if (connection.token !== token || !states.has(connection.socket)) continue;
        hub.remove(connection);
        refuse(connection.socket, 'The access token expired or its session was revoked');
      }
      return null;
    }
    for (const connection of connections) if (connection.token === token) connection.principal = principal;
    return null;
  };

  const heartbeat = async () => {
    const byToken = new Map<string, Connection[]>();
    for (const [socket, state] of states) {
      if (!state.alive) {
        socket.terminate();
        continue;
      }
      state.alive = false;
      socket.ping();
      const connection = state.connection;
      if (!connection) continue;
      const sharing = byToken.get(connection.token);
      if (sharing) sharing.push(connection);
      else byToken.set(connection.token, [connection]);
    }
    // Once per token, several at once: one check after another, a beat over many sockets would
    // outlast its interval, and the beats meanwhile would be skipped.
    const gate = new Gate(HEARTBEAT_CHECKS_AT_ONCE);
    const failures = (
      await Promise.all(
        [...byToken].map(([token, connections]) => gate.run(() => recheck(token, connections))),
      )
    ).filter((failure) => failure !== null);
    if (failures.length > 0) {
      logger.warn(
        { err: failures[0], tokens: failures.length },
        'the tokens of sockets could not be checked again; they stay open until the next beat',
      );
    }
  };

  return async (app) => {
    await app.register(websocket, {
      options: { maxPayload: MAX_MESSAGE_BYTES },
      // The plugin's own pre-close closes every socket without a code (1005) before the onClose
      // hooks run: closed here with 1001, clients know the server is going away and reconnect.
      preClose(done) {
        const server = this.websocketServer;
        for (const socket of server.clients)
          socket.close(REALTIME_CLOSE.shuttingDown, 'server shutting down');
        server.close(() => done());
      },
    });
    // @fastify/websocket hides its routes from OpenAPI; /ws is part of the contract, so shown.
    app.addHook('onRoute', (route) => {
      if (route.url === '/ws' && route.schema) route.schema.hide = false;
    });
    let beating: Promise<void> | null = null;
    const timer = setInterval(() => {
      beating ??= heartbeat()
        .catch((error: unknown) => logger.error({ err: error }, 'heartbeat failed'))
        .finally(() => (beating = null));
    }, config.REALTIME_HEARTBEAT_MS);
    timer.unref();
    app.addHook('onClose', async () => {
      clearInterval(timer);
    });

    app.get(
      '/ws',
      {
        websocket: true,
        config: { public: true },
        schema: {
          tags: ['realtime'],
          summary: 'Realtime events over WebSocket',
          description: [
            'Upgrade to a WebSocket of JSON messages (types in @tessera/contracts, realtime.ts).',
            'Authenticate with `?access_token=` or a first `{"type":"auth","token":...}` message.',
            'Client: `{"type":"subscribe","channel":"orders"|"inventory"|"notifications"|"dashboard","last_event_id"?}`,',
            '`unsubscribe`, `ping`. Server: `ready`, `subscribed` (after any replay), `event`',
            '`{type,channel,id,event_type,data,occurred_at}`, `error` `{type,code,message}` with codes',
            '`unauthenticated`, `forbidden`, `invalid_message`, `replay_gap`, `slow_consumer`; `pong`.',
            'Close codes: 4401 unauthenticated, 4403 session revoked, 4408 slow consumer, 1008 too many messages.',
          ].join(' '),
          querystring: {
            type: 'object',
            properties: { access_token: { type: 'string', maxLength: 4096 } },
          },
          response: {
            101: { description: 'Switching Protocols: the WebSocket is open', type: 'null' },
            ...problems(401),
          },
        },
        // A token given at connect is checked before the upgrade: a bad one gets a plain 401.
        preValidation: async (request) => {
          const token = tokenOf(request);
          if (!token) return;
          request.principalOrNull = await verifier.verify(token).catch(() => {
            throw new AppError('unauthenticated', 'The access token is not valid', {
              headers: { 'www-authenticate': 'Bearer' },
            });
          });
        },
      },
      (socket, request) => {
        const state: SocketState = {
          connection: null,
          alive: true,
          bucket: new TokenBucket(MESSAGE_BURST, MESSAGE_RATE_PER_SECOND),
          closing: false,
          replays: new Map(),
          replaying: false,
        };
        states.set(socket, state);
        socket.on('pong', () => (state.alive = true));
        socket.on('close', () => {
          clearTimeout(authTimer);
          state.closing = true;
          state.replays.clear();
          states.delete(socket);
          if (state.connection) hub.remove(state.connection);
        });
        socket.on('message', (raw) => {
          // Counted before anything else is done with it, and ignored once the socket is closing.
          if (state.closing || socket.readyState !== socket.OPEN) return;
          if (!state.bucket.take()) return flooded(socket, state);
          state.alive = true;
          onMessage(socket, state, raw).catch((error: unknown) => {
            logger.error({ err: error }, 'realtime message failed');
          });
        });
        const authTimer = setTimeout(() => {
          if (!state.connection) refuse(socket, 'No access token within the time allowed');
        }, config.REALTIME_AUTH_TIMEOUT_MS);
        const token = tokenOf(request);
        if (request.principalOrNull && token) {
          attach(socket, state, request.principalOrNull, token).catch((error: unknown) => {
            logger.error({ err: error }, 'realtime attach failed');
          });
        }
      },
    );
  };
}

/** The first entry of a map, in insertion order. */
function first<K, V>(map: Map<K, V>): [K, V] | undefined {
  return map.entries().next().value;
}

/** The text of a WebSocket message, whichever of ws' buffer shapes it arrived in. */
export function textOf(raw: WebSocket.RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw).toString('utf8');
}
