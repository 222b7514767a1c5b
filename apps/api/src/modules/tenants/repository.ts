import { sql } from 'kysely';
import type { Executor } from '../../platform/db/tenant';

export interface TenantUserRow {
  id: string;
  email: string;
  name: string;
  email_verified_at: Date | null;
  roles: string[];
  joined_at: Date;
}

/** Tenant administration SQL; every query runs in the tenant's RLS transaction. */
export const tenantAdmin = {
  tenant(db: Executor, tenantId: string) {
    return db
      .selectFrom('tenants')
      .select(['id', 'name', 'time_zone', 'created_at'])
      .where('id', '=', tenantId)
      .executeTakeFirst();
  },

  updateSettings(db: Executor, tenantId: string, settings: { name?: string; time_zone?: string }) {
    return db
      .updateTable('tenants')
      .set({ ...settings, updated_at: new Date() })
      .where('id', '=', tenantId)
      .returning(['id', 'name', 'time_zone', 'created_at'])
      .executeTakeFirst();
  },

  /** Members ordered by user id (UUID v7: join order of identities), after `after` (keyset). */
  listUsers(db: Executor, tenantId: string, limit: number, after: string | null): Promise<TenantUserRow[]> {
    let query = db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select([
        'users.id',
        'users.email',
        'users.name',
        'users.email_verified_at',
        'memberships.roles',
        'memberships.created_at as joined_at',
      ])
      .where('memberships.tenant_id', '=', tenantId);
    if (after) query = query.where('users.id', '>', after);
    return query.orderBy('users.id').limit(limit).execute();
  },

  findUser(db: Executor, tenantId: string, userId: string): Promise<TenantUserRow | undefined> {
    return db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select([
        'users.id',
        'users.email',
        'users.name',
        'users.email_verified_at',
        'memberships.roles',
        'memberships.created_at as joined_at',
      ])
      .where('memberships.tenant_id', '=', tenantId)
      .where('memberships.user_id', '=', userId)
      .forUpdate(['memberships'])
      .executeTakeFirst();
  },

  /** The tenant's admins, locked: two concurrent demotions cannot both leave the tenant admin-less. */
  async adminIds(db: Executor, tenantId: string): Promise<string[]> {
    const rows = await db
      .selectFrom('memberships')
      .select('user_id')
      .where('tenant_id', '=', tenantId)
      .where(sql<boolean>`'admin' = any(roles)`)
      .forUpdate()
      .execute();
    return rows.map((row) => row.user_id);
  },

  async setRoles(db: Executor, tenantId: string, userId: string, roles: string[]): Promise<void> {
    await db
      .updateTable('memberships')
      .set({ roles, updated_at: new Date() })
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .execute();
  },

  async remove(db: Executor, tenantId: string, userId: string): Promise<void> {
    await db
      .deleteFrom('memberships')
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .execute();
  },
};
