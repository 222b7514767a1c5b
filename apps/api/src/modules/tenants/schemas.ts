import { InvitationSchema, TenantSchema, TenantUserSchema } from '@tessera/contracts';
import { Type } from '@sinclair/typebox';
import { Page } from '../../platform/http/schemas';
import { Email, RoleList } from '../auth';

export const InvitationBody = Type.Object({ email: Email, roles: RoleList }, { additionalProperties: false });
export const RolesBody = Type.Object({ roles: RoleList }, { additionalProperties: false });
export const UsersPage = Page(TenantUserSchema);
export { InvitationSchema, TenantSchema, TenantUserSchema };
