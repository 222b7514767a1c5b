import type { FastifyPluginAsync } from 'fastify';
import type { Consumer } from '../platform/events/bus';
import type { AccessTokenVerifier } from '../platform/http/auth-guard';
import type { Platform } from '../platform/platform';
import { createAnalyticsModule } from './analytics';
import { createAuthModule, type AuthService, type SigningKeys } from './auth';
import { createCatalogModule, type CatalogService } from './catalog';
import { createGraphqlModule } from './graphql';
import { createInventoryModule, type InventoryService } from './inventory';
import { createOrdersModule, type OrdersService } from './orders';
import { createPaymentsModule, type PaymentsService } from './payments';
import { createRealtimeModule } from './realtime';
import { createReceiptsModule } from './receipts';
import { createTenantsModule } from './tenants';

/** A module as the composition root sees it: its routes and its event consumers. */
export interface ModuleInstance {
  name: string;
  routes?: FastifyPluginAsync;
  consumers?: Consumer[];
  /**
   * Periodic background work the worker runs (the payments reconciler); returns its stop function,
   * which resolves once a pass in flight has ended.
   */
  startJobs?: () => () => Promise<void>;
}

export interface Modules {
  list: ModuleInstance[];
  verifier: AccessTokenVerifier;
  /** The services operators' tools (the CLI) call. */
  services: {
    auth: AuthService;
    signingKeys: SigningKeys;
    catalog: CatalogService;
    inventory: InventoryService;
    orders: OrdersService;
    payments: PaymentsService;
  };
}

/**
 * The composition root: creates each module once, handing it the platform and the public faces
 * of the modules it builds on. Modules never reach into each other's files.
 */
export function createModules(platform: Platform): Modules {
  const auth = createAuthModule(platform);
  const tenants = createTenantsModule(platform.db, auth.service);
  const inventory = createInventoryModule(platform);
  const catalog = createCatalogModule(platform, { inventory: inventory.service });
  const orders = createOrdersModule(platform, { catalog: catalog.service, inventory: inventory.service });
  const payments = createPaymentsModule(platform, { orders: orders.service });
  const receipts = createReceiptsModule(platform, {
    orders: orders.service,
    tenants: tenants.service,
    mailer: auth.mailer,
  });
  const analytics = createAnalyticsModule(platform, {
    products: catalog.service,
    lowStock: inventory.service,
  });
  const realtime = createRealtimeModule(platform, {
    verifier: auth.verifier,
    revocations: auth.sessionRevocations,
    todayFigures: (tx) => analytics.service.todayMetrics(tx),
  });
  const graphql = createGraphqlModule(platform, {
    auth: auth.service,
    catalog: catalog.service,
    inventory: inventory.service,
    orders: orders.service,
    payments: payments.service,
    analytics: analytics.service,
  });
  return {
    list: [
      auth,
      tenants,
      catalog.module,
      inventory.module,
      orders.module,
      payments.module,
      receipts,
      analytics.module,
      realtime,
      graphql,
    ],
    verifier: auth.verifier,
    services: {
      auth: auth.service,
      signingKeys: auth.keys,
      catalog: catalog.service,
      inventory: inventory.service,
      orders: orders.service,
      payments: payments.service,
    },
  };
}
