import type { EventEnvelope } from '@tessera/contracts';
import type { Consumer } from '../../platform/events/bus';
import type { AccessTokenVerifier } from '../../platform/http/auth-guard';
import type { Platform } from '../../platform/platform';
import type { ModuleInstance } from '../index';
import { REALTIME_EVENT_TYPES } from './channels';
import { DashboardPusher, type TodayFigures } from './dashboard';
import { RealtimeHub } from './hub';
import { realtimeRoutes } from './routes';
import type { SessionRevocationSignal } from '../../platform/session-revocations';
import { StreamTail } from './stream-tail';

export type { TodayFigures } from './dashboard';

export interface RealtimeDeps {
  verifier: AccessTokenVerifier;
  revocations?: SessionRevocationSignal;
  /** Today's figures for the dashboard channel (analytics' rollups). */
  todayFigures: TodayFigures;
}

export interface RealtimeModule extends ModuleInstance {
  hub: RealtimeHub;
  /** Milliseconds between an event entering the stream and this process reading it (Redis only). */
  streamLagMs(): number;
}

/**
 * The realtime module: WebSocket sockets fed by the committed event stream. With Redis every API
 * process tails the streams itself (XREAD); in the embedded default a consumer on the in-process
 * bus feeds the hub.
 */
export function createRealtimeModule(platform: Platform, deps: RealtimeDeps): RealtimeModule {
  const logger = platform.logger.child({ module: 'realtime' });
  const hub = new RealtimeHub({ maxBufferedBytes: platform.config.REALTIME_MAX_BUFFERED_BYTES, logger });
  const dashboard = new DashboardPusher(platform.db, hub, deps.todayFigures, logger);
  // A dead letter replayed went to the sockets when it was first published; the dashboard's figures
  // are read again all the same, since the consumer that failed on it may have changed them now.
  const onEvent = (event: EventEnvelope, replayed = false) => {
    if (!replayed) hub.deliver(event);
    dashboard.onEvent(event);
  };

  const tail = platform.redis
    ? new StreamTail(platform.redis, REALTIME_EVENT_TYPES, platform.config.REDIS_KEY_PREFIX, logger, onEvent)
    : null;
  const consumer: Consumer = {
    name: 'realtime',
    types: REALTIME_EVENT_TYPES,
    handle: async (event) => onEvent(event),
  };
  const routes = realtimeRoutes({ platform, hub, verifier: deps.verifier });

  return {
    name: 'realtime',
    hub,
    streamLagMs: () => tail?.lagMs ?? 0,
    ...(tail ? {} : { consumers: [consumer] }),
    routes: async (app) => {
      app.addHook('onClose', async () => dashboard.stop());
      if (tail) {
        app.addHook('onReady', () => tail.start());
        app.addHook('onClose', () => tail.stop());
      }
      const revocations = deps.revocations;
      if (revocations) {
        let unsubscribe: (() => Promise<void>) | null = null;
        app.addHook('onReady', async () => {
          unsubscribe = await revocations.subscribe((sessionId) => hub.closeSession(sessionId));
        });
        app.addHook('onClose', async () => unsubscribe?.());
      }
      app.metrics?.gauge(
        'tessera_ws_connections',
        'Open authenticated WebSocket connections',
        () => hub.size,
      );
      app.metrics?.gauge(
        'tessera_ws_slow_consumers_dropped',
        'WebSockets dropped as slow consumers',
        () => hub.dropped,
      );
      app.metrics?.gauge(
        'tessera_realtime_stream_lag_seconds',
        'Delay of the realtime stream reader',
        () => (tail?.lagMs ?? 0) / 1000,
      );
      await app.register(routes);
    },
  };
}
