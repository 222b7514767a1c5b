import {
  InvitationPreviewSchema,
  InvitationSchema,
  LoginAnswerSchema,
  MembershipSchema,
  MeSchema,
  SessionSchema,
  TenantSummarySchema,
  TokenAnswerSchema,
  ROLES,
} from '@tessera/contracts';
import { Type, type Static } from '@sinclair/typebox';
import { Page, Uuid } from '../../platform/http/schemas';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './passwords';

export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 320 });
export const Password = Type.String({
  minLength: PASSWORD_MIN_LENGTH,
  maxLength: PASSWORD_MAX_LENGTH,
  description: `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters; common passwords are refused`,
});
/** A password being checked, not chosen: any length up to the maximum (no hint about policy). */
const GivenPassword = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH });
const OpaqueToken = Type.String({ minLength: 16, maxLength: 200 });
export const RoleList = Type.Array(Type.Union(ROLES.map((role) => Type.Literal(role))), {
  minItems: 1,
  maxItems: ROLES.length,
  uniqueItems: true,
});

export const RegisterBody = Type.Object(
  {
    email: Email,
    password: Password,
    name: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description:
          'Required to create an account; left out when an existing account joins with invitation_token (it keeps its name)',
      }),
    ),
    tenant_name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    time_zone: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          "With tenant_name: the new business's IANA time zone, in which its days are counted (UTC if left out)",
      }),
    ),
    invitation_token: Type.Optional(OpaqueToken),
  },
  { additionalProperties: false },
);
export type RegisterBody = Static<typeof RegisterBody>;

export const RegisterAnswer = Type.Composite([
  LoginAnswerSchema,
  Type.Object({ tenant: TenantSummarySchema }),
]);

export const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 320 }),
    password: GivenPassword,
    tenant_id: Type.Optional(Type.String({ format: 'uuid' })),
    device_token: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 400,
        description: 'the device_token of an earlier sign-in of this address on this device',
      }),
    ),
  },
  { additionalProperties: false },
);

export const RefreshBody = Type.Object(
  { refresh_token: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);
export const ForgotBody = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: 320 }) },
  { additionalProperties: false },
);
export const ResetBody = Type.Object(
  { token: OpaqueToken, password: Password },
  { additionalProperties: false },
);
export const ChangePasswordBody = Type.Object(
  { current_password: GivenPassword, new_password: Password },
  { additionalProperties: false },
);
export const SwitchTenantBody = Type.Object(
  { tenant_id: Type.String({ format: 'uuid' }) },
  { additionalProperties: false },
);
export const MembershipsAnswer = Type.Object({ data: Type.Array(MembershipSchema) });

export const TokenBody = Type.Object({ token: OpaqueToken }, { additionalProperties: false });
export const VerifiedAnswer = Type.Object({ email_verified: Type.Literal(true) });

export const SessionsPage = Page(SessionSchema);

/** A pending invitation as an admin sees it: who sent it, never its token. */
export const PendingInvitationSchema = Type.Composite([
  InvitationSchema,
  Type.Object({ invited_by: Type.Union([Uuid, Type.Null()]) }),
]);
export type PendingInvitation = Static<typeof PendingInvitationSchema>;

export const InvitationTokenParams = Type.Object({
  token: Type.String({ description: 'the token of the invitation link (its `token=` parameter)' }),
});

export { InvitationPreviewSchema };
export type { InvitationPreview } from '@tessera/contracts';

export const Jwks = Type.Object({
  keys: Type.Array(
    Type.Object({
      kty: Type.String(),
      crv: Type.String(),
      x: Type.String(),
      kid: Type.String(),
      alg: Type.String(),
      use: Type.String(),
    }),
  ),
});

export { LoginAnswerSchema, MeSchema, TokenAnswerSchema };
