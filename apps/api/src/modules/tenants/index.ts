import type { Kysely } from 'kysely';
import type { ModuleInstance } from '..';
import type { DB } from '../../platform/db/tables';
import type { AuthService } from '../auth';
import { tenantRoutes } from './routes';
import { TenantService } from './service';

export { TenantService } from './service';

export interface TenantsModule extends ModuleInstance {
  name: 'tenants';
  service: TenantService;
}

/** Tenant administration (manage:users): members, invitations, roles, removal. */
export function createTenantsModule(db: Kysely<DB>, auth: AuthService): TenantsModule {
  const service = new TenantService(db, auth);
  return { name: 'tenants', service, routes: tenantRoutes(service) };
}
