import type { Platform } from '../../platform/platform';
import type { ModuleInstance } from '../index';
import { analyticsConsumers } from './consumers';
import { analyticsRoutes } from './routes';
import { AnalyticsService, type AnalyticsDeps } from './service';

export { AnalyticsService, type AnalyticsDeps, type LowStockSource, type ProductDirectory } from './service';

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
      routes: analyticsRoutes(platform.db, service),
      consumers: analyticsConsumers(service),
    },
    service,
  };
}
