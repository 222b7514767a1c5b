import { idempotency } from '../../platform/http/idempotency';
import type { Platform } from '../../platform/platform';
import type { ModuleInstance } from '../index';
import { inventoryRoutes } from './routes';
import { InventoryService } from './service';

export { InventoryService, type StockActor, type StockLine } from './service';
export type { StockLevel, StockMovement } from './schemas';

/** Inventory: stock levels, their ledger, reservations. */
export function createInventoryModule(platform: Platform): {
  module: ModuleInstance;
  service: InventoryService;
} {
  const service = new InventoryService();
  return {
    module: { name: 'inventory', routes: inventoryRoutes(platform.db, service, idempotency(platform.db)) },
    service,
  };
}
