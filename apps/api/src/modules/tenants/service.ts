import type { Invitation, Tenant, TenantUser } from '@tessera/contracts';
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables';
import { withTenant, withTenantRead, type Tx } from '../../platform/db/tenant';
import { PostgresTimeZones } from '../../platform/db/time-zones';
import { AppError, notFound } from '../../platform/errors';
import type { Principal } from '../../platform/http/auth-guard';
import { decodeCursor, encodeCursor, Uuid } from '../../platform/http/schemas';
import type { AuthService, PendingInvitation } from '../auth';
import { tenantAdmin, type TenantUserRow } from './repository';

type TenantRow = NonNullable<Awaited<ReturnType<typeof tenantAdmin.tenant>>>;

function tenantDto(row: TenantRow): Tenant {
  return { id: row.id, name: row.name, time_zone: row.time_zone, created_at: row.created_at.toISOString() };
}

function userDto(row: TenantUserRow): TenantUser {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    email_verified: row.email_verified_at !== null,
    roles: row.roles,
    joined_at: row.joined_at.toISOString(),
  };
}

/**
 * Tenant administration: the tenant, its members, invitations, role changes, removal. A member
 * whose roles shrink or who is removed loses their sessions in the tenant at once; the tenant
 * always keeps at least one admin.
 */
export class TenantService {
  private readonly postgresZones = new PostgresTimeZones();

  constructor(
    private readonly db: Kysely<DB>,
    private readonly auth: AuthService,
  ) {}

  async current(principal: Principal): Promise<Tenant> {
    return withTenantRead(this.db, principal.tenantId, (tx) => this.of(tx, principal.tenantId));
  }

  /** The tenant, read in a transaction of its own (its name and time zone, for what it sends out). */
  async of(tx: Tx, tenantId: string): Promise<Tenant> {
    const tenant = await tenantAdmin.tenant(tx, tenantId);
    if (!tenant) throw notFound('tenant');
    return tenantDto(tenant);
  }

  async updateSettings(
    principal: Principal,
    settings: { name?: string; time_zone?: string },
  ): Promise<Tenant> {
    const name = settings.name?.trim();
    if (name === '') {
      throw new AppError('validation_failed', 'The name is empty', {
        errors: [{ path: 'name', message: 'must not be empty' }],
      });
    }
    const tenant = await withTenant(this.db, principal.tenantId, async (tx) => {
      const timeZone =
        settings.time_zone === undefined
          ? undefined
          : await this.postgresZones.tenantZone(tx, settings.time_zone);
      return tenantAdmin.updateSettings(tx, principal.tenantId, {
        ...(name ? { name } : {}),
        ...(timeZone ? { time_zone: timeZone } : {}),
      });
    });
    if (!tenant) throw notFound('tenant');
    return tenantDto(tenant);
  }

  async users(
    principal: Principal,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<{ data: TenantUser[]; next_cursor: string | null }> {
    const after = decodeCursor(page.cursor, Uuid);
    const rows = await withTenantRead(this.db, principal.tenantId, (tx) =>
      tenantAdmin.listUsers(tx, principal.tenantId, page.limit + 1, after),
    );
    const data = rows.slice(0, page.limit).map(userDto);
    return { data, next_cursor: rows.length > page.limit ? encodeCursor(data.at(-1)!.id) : null };
  }

  invite(principal: Principal, input: { email: string; roles: string[] }): Promise<Invitation> {
    return this.auth.invite(principal, input);
  }

  invitations(
    principal: Principal,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<{ data: PendingInvitation[]; next_cursor: string | null }> {
    return this.auth.pendingInvitations(principal, page);
  }

  revokeInvitation(principal: Principal, invitationId: string): Promise<void> {
    return this.auth.revokeInvitation(principal, invitationId);
  }

  async changeRoles(principal: Principal, userId: string, roles: string[]): Promise<TenantUser> {
    const wanted = [...new Set(roles)];
    const { user, reduced } = await withTenant(this.db, principal.tenantId, async (tx) => {
      const admins = await tenantAdmin.adminIds(tx, principal.tenantId);
      const member = await tenantAdmin.findUser(tx, principal.tenantId, userId);
      if (!member) throw notFound('user');
      if (member.roles.includes('admin') && !wanted.includes('admin') && admins.length <= 1) {
        throw new AppError('last_admin', 'The tenant must keep at least one admin');
      }
      await tenantAdmin.setRoles(tx, principal.tenantId, userId, wanted);
      return {
        user: { ...member, roles: wanted },
        reduced: member.roles.some((role) => !wanted.includes(role)),
      };
    });
    // Tokens carry roles: when a role is taken away, the member's tokens must not keep it.
    if (reduced) await this.auth.revokeUserSessions(principal.tenantId, userId, 'roles_reduced');
    return userDto(user);
  }

  async remove(principal: Principal, userId: string): Promise<void> {
    await withTenant(this.db, principal.tenantId, async (tx) => {
      const admins = await tenantAdmin.adminIds(tx, principal.tenantId);
      const member = await tenantAdmin.findUser(tx, principal.tenantId, userId);
      if (!member) throw notFound('user');
      if (member.roles.includes('admin') && admins.length <= 1) {
        throw new AppError('last_admin', 'The tenant must keep at least one admin');
      }
      // A pending invitation must not bring a removed member back.
      await this.auth.cancelInvitations(tx, principal.tenantId, member.email);
      await tenantAdmin.remove(tx, principal.tenantId, userId);
    });
    await this.auth.revokeUserSessions(principal.tenantId, userId, 'removed_from_tenant');
  }
}
