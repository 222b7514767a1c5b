import type { Platform } from '../../platform/platform';
import type { InventoryService } from '../inventory';
import type { ModuleInstance } from '../index';
import { catalogRoutes } from './routes';
import { CatalogService } from './service';

export { CatalogService, type ProductSummary } from './service';
export type { Product } from './schemas';

/** The catalog: products, their SKUs and prices. Every new product gets a stock level. */
export function createCatalogModule(
  platform: Platform,
  deps: { inventory: InventoryService },
): { module: ModuleInstance; service: CatalogService } {
  const service = new CatalogService(deps.inventory);
  return { module: { name: 'catalog', routes: catalogRoutes(platform.db, service) }, service };
}
