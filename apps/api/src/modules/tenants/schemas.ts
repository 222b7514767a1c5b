import { InvitationSchema, TenantSchema, TenantUserSchema } from '@tessera/contracts';
import { Type } from '@sinclair/typebox';
import { Page } from '../../platform/http/schemas';
import { Email, PendingInvitationSchema, RoleList } from '../auth';

export const InvitationBody = Type.Object({ email: Email, roles: RoleList }, { additionalProperties: false });
export const RolesBody = Type.Object({ roles: RoleList }, { additionalProperties: false });
export const UsersPage = Page(TenantUserSchema);
export const InvitationsPage = Page(PendingInvitationSchema);
/** The tenant's own settings; the time zone is an IANA name (dashboards bucket days in it). */
export const TenantSettingsBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    time_zone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export { InvitationSchema, TenantSchema, TenantUserSchema };
