import type { FastifyPluginAsync } from 'fastify';
import type { Consumer } from '../platform/events/bus';
import { AppError } from '../platform/errors';
import type { AccessTokenVerifier } from '../platform/http/auth-guard';
import type { Platform } from '../platform/platform';
import { createCatalogModule } from './catalog';
import { createInventoryModule } from './inventory';
import { createOrdersModule } from './orders';

/** A module as the composition root sees it: its routes and its event consumers. */
export interface ModuleInstance {
  name: string;
  routes?: FastifyPluginAsync;
  consumers?: Consumer[];
}

export interface Modules {
  list: ModuleInstance[];
  verifier: AccessTokenVerifier;
}

/** Refuses every token: the state of an API with no auth module wired in. */
const noTokenIsValid: AccessTokenVerifier = {
  verify: () => Promise.reject(new AppError('unauthenticated', 'Access tokens are not accepted')),
};

/**
 * The composition root: creates each module once, handing it the platform and the public faces
 * of the modules it builds on. Modules never reach into each other's files.
 */
export function createModules(platform: Platform): Modules {
  const inventory = createInventoryModule(platform);
  const catalog = createCatalogModule(platform, { inventory: inventory.service });
  const orders = createOrdersModule(platform, { catalog: catalog.service, inventory: inventory.service });
  return { list: [catalog.module, inventory.module, orders.module], verifier: noTokenIsValid };
}
