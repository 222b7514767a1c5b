import { Type, type Static } from '@sinclair/typebox';
import { PERMISSIONS } from './permissions';
import { UUID_PATTERN } from './uuid';

/** Auth and tenant-administration answers (api-contract.md, "Auth"), shared by the API and the web app. */
const Id = Type.String({ pattern: UUID_PATTERN, description: 'UUID' });
const Time = Type.String({ format: 'date-time', description: 'ISO 8601 UTC' });
const Roles = Type.Array(Type.String());

export const MeSchema = Type.Object({
  id: Id,
  email: Type.String(),
  name: Type.String(),
  email_verified: Type.Boolean(),
  tenant_id: Id,
  roles: Roles,
  permissions: Type.Array(Type.Union(PERMISSIONS.map((permission) => Type.Literal(permission)))),
  session_id: Id,
  created_at: Time,
});
export type Me = Static<typeof MeSchema>;

export const TokenAnswerSchema = Type.Object({
  access_token: Type.String(),
  refresh_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'access-token lifetime, seconds' }),
  user: MeSchema,
});
export type TokenAnswer = Static<typeof TokenAnswerSchema>;

/** The answer of POST /auth/login: a token answer plus the device token to sign in with next time. */
export const LoginAnswerSchema = Type.Composite([
  TokenAnswerSchema,
  Type.Object({
    device_token: Type.String({
      description:
        'send it as device_token with the next sign-in of this address from this device: failed attempts elsewhere then cannot lock it out',
    }),
  }),
]);
export type LoginAnswer = Static<typeof LoginAnswerSchema>;

export const TenantSummarySchema = Type.Object({ id: Id, name: Type.String() });
export type TenantSummary = Static<typeof TenantSummarySchema>;

/** A tenant the signed-in user belongs to, with the user's roles there (GET /auth/tenants). */
export const MembershipSchema = Type.Object({
  id: Id,
  name: Type.String(),
  roles: Roles,
  current: Type.Boolean({ description: 'whether the calling token acts in this tenant' }),
  time_zone: Type.String({ description: "the tenant's IANA time zone, in which its dates are shown" }),
});
export type Membership = Static<typeof MembershipSchema>;

/** The answer of POST /auth/register: a login's answer plus the tenant. */
export type RegisterAnswer = LoginAnswer & { tenant: TenantSummary };

export const SessionSchema = Type.Object({
  id: Id,
  created_at: Time,
  last_used_at: Time,
  expires_at: Time,
  user_agent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean({ description: 'whether this is the session of the calling token' }),
});
export type SessionInfo = Static<typeof SessionSchema>;

export const TenantSchema = Type.Object({
  id: Id,
  name: Type.String(),
  time_zone: Type.String(),
  created_at: Time,
});
export type Tenant = Static<typeof TenantSchema>;

export const TenantUserSchema = Type.Object({
  id: Id,
  email: Type.String(),
  name: Type.String(),
  email_verified: Type.Boolean(),
  roles: Roles,
  joined_at: Time,
});
export type TenantUser = Static<typeof TenantUserSchema>;

export const InvitationSchema = Type.Object({
  id: Id,
  email: Type.String(),
  roles: Roles,
  expires_at: Time,
  created_at: Time,
});
export type Invitation = Static<typeof InvitationSchema>;

/** An invitation as its link shows it, before it is used (`GET /auth/invitations/:token`). */
export const InvitationPreviewSchema = Type.Object({
  business_name: Type.String({ description: 'the business (tenant) that invites' }),
  email: Type.String({ description: 'the address invited: the only one that can join with this link' }),
  roles: Roles,
  expires_at: Time,
  existing_account: Type.Boolean({
    description:
      "the address has an account already: it joins with that account's password, and no name is asked for",
  }),
});
export type InvitationPreview = Static<typeof InvitationPreviewSchema>;
