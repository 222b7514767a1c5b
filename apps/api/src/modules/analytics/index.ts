import type { Platform } from '../../platform/platform';
import { createRateLimiter } from '../../platform/rate-limit';
import type { ModuleInstance } from '../index';
import { analyticsConsumers } from './consumers';
import { analyticsRoutes } from './routes';
import { AnalyticsService, type AnalyticsDeps } from './service';

export { RECOMMENDATIONS_LIMIT } from './schemas';
export {
  AnalyticsService,
  DEFAULT_RANGE_MS,
  MAX_SERIES_BUCKETS,
  type AnalyticsDeps,
  type LowStockSource,
  type ProductDirectory,
} from './service';

/**
 * Analytics: the historical store of every domain event, the dashboard's rollups, recommendations.
 * `service.todayMetrics(tx)` gives the realtime dashboard channel today's figures.
 */
export function createAnalyticsModule(
  platform: Platform,
  deps: AnalyticsDeps = {},
): { module: ModuleInstance; service: AnalyticsService } {
  const service = new AnalyticsService(deps);
  return {
    module: {
      name: 'analytics',
      routes: async (app) => {
        const limiter = createRateLimiter(platform.redis, platform.config.REDIS_KEY_PREFIX);
        await app.register(
          analyticsRoutes(platform.db, service, {
            limiter,
            perMinute: platform.config.RATE_LIMIT_TRACKED_EVENTS_PER_MINUTE,
          }),
        );
      },
      consumers: analyticsConsumers(service),
    },
    service,
  };
}
