import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { principalOf } from '../../platform/http/auth-guard';
import { IdParams, PageQuery, problems } from '../../platform/http/schemas';
import {
  ChangePasswordBody,
  ForgotBody,
  InvitationPreviewSchema,
  InvitationTokenParams,
  Jwks,
  LoginAnswerSchema,
  LoginBody,
  MembershipsAnswer,
  MeSchema,
  RefreshBody,
  RegisterAnswer,
  RegisterBody,
  ResetBody,
  SessionsPage,
  SwitchTenantBody,
  TokenAnswerSchema,
  TokenBody,
  VerifiedAnswer,
} from './schemas';
import type { AuthService, ClientInfo } from './service';

const tags = ['auth'];

function clientOf(request: FastifyRequest): ClientInfo {
  const agent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof agent === 'string' ? agent : null };
}

export function authRoutes(service: AuthService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/auth/register',
      {
        config: { public: true },
        schema: {
          tags,
          summary: 'Create a tenant and its first admin, or join a tenant with an invitation',
          security: [],
          body: RegisterBody,
          response: { 201: RegisterAnswer, ...problems(400, 409, 429) },
        },
      },
      async (request, reply) => reply.code(201).send(await service.register(request.body, clientOf(request))),
    );

    app.get(
      '/auth/invitations/:token',
      {
        config: { public: true },
        schema: {
          tags,
          summary:
            'What an invitation link offers, without using it: the business, the address, the roles, ' +
            'and whether the address has an account (404 invalid_token for a link used, revoked, ' +
            'superseded, expired or never issued alike)',
          security: [],
          params: InvitationTokenParams,
          response: { 200: InvitationPreviewSchema, ...problems(404, 429) },
        },
      },
      async (request) => service.invitationPreview(request.params.token, clientOf(request)),
    );

    app.post(
      '/auth/login',
      {
        config: { public: true },
        schema: {
          tags,
          summary: 'Sign in with email and password',
          security: [],
          body: LoginBody,
          response: { 200: LoginAnswerSchema, ...problems(400, 401, 429) },
        },
      },
      async (request) => service.login(request.body, clientOf(request)),
    );

    app.post(
      '/auth/refresh',
      {
        config: { public: true },
        schema: {
          tags,
          summary: 'Trade a refresh token for a new token pair (the old refresh token is spent)',
          security: [],
          body: RefreshBody,
          response: { 200: TokenAnswerSchema, ...problems(400, 401) },
        },
      },
      async (request) => service.refresh(request.body.refresh_token),
    );

    app.post(
      '/auth/logout',
      {
        schema: {
          tags,
          summary: 'End the current session',
          response: { 204: { type: 'null' }, ...problems(401) },
        },
      },
      async (request, reply) => {
        await service.logout(principalOf(request));
        return reply.code(204).send();
      },
    );

    app.get(
      '/auth/me',
      { schema: { tags, summary: 'The signed-in user', response: { 200: MeSchema, ...problems(401) } } },
      async (request) => service.me(principalOf(request)),
    );

    app.get(
      '/auth/tenants',
      {
        schema: {
          tags,
          summary: 'The tenants the signed-in user belongs to, with their roles there',
          response: { 200: MembershipsAnswer, ...problems(401) },
        },
      },
      async (request) => ({ data: await service.listTenants(principalOf(request)) }),
    );

    app.post(
      '/auth/switch-tenant',
      {
        schema: {
          tags,
          summary: 'Act in another of your tenants: a new session there; the current one ends',
          body: SwitchTenantBody,
          response: { 200: TokenAnswerSchema, ...problems(400, 401, 404) },
        },
      },
      async (request) =>
        service.switchTenant(principalOf(request), request.body.tenant_id, clientOf(request)),
    );

    app.post(
      '/auth/forgot-password',
      {
        config: { public: true },
        schema: {
          tags,
          summary: 'Mail a password-reset link (answers 202 whether or not the account exists)',
          security: [],
          body: ForgotBody,
          response: { 202: { type: 'null' }, ...problems(400) },
        },
      },
      async (request, reply) => {
        service.forgotPassword(request.body.email);
        return reply.code(202).send();
      },
    );

    app.post(
      '/auth/reset-password',
      {
        config: { public: true },
        schema: {
          tags,
          summary: 'Set a new password with a reset token; every session of the user is revoked',
          security: [],
          body: ResetBody,
          response: { 204: { type: 'null' }, ...problems(400) },
        },
      },
      async (request, reply) => {
        await service.resetPassword(request.body.token, request.body.password);
        return reply.code(204).send();
      },
    );

    app.post(
      '/auth/change-password',
      {
        schema: {
          tags,
          summary: "Change the signed-in user's password; every other session is revoked",
          body: ChangePasswordBody,
          response: { 204: { type: 'null' }, ...problems(400, 401, 429) },
        },
      },
      async (request, reply) => {
        await service.changePassword(
          principalOf(request),
          request.body.current_password,
          request.body.new_password,
        );
        return reply.code(204).send();
      },
    );

    app.post(
      '/auth/verify-email',
      {
        config: { public: true },
        schema: {
          tags,
          summary: 'Confirm an email address with the token from the mail',
          security: [],
          body: TokenBody,
          response: { 200: VerifiedAnswer, ...problems(400) },
        },
      },
      async (request) => {
        await service.verifyEmail(request.body.token);
        return { email_verified: true as const };
      },
    );

    app.post(
      '/auth/verify-email/resend',
      {
        schema: {
          tags,
          summary: 'Mail a new verification link (nothing is sent when the address is verified)',
          response: { 202: { type: 'null' }, ...problems(401, 429) },
        },
      },
      async (request, reply) => {
        await service.resendVerification(principalOf(request));
        return reply.code(202).send();
      },
    );

    app.get(
      '/auth/sessions',
      {
        schema: {
          tags,
          summary: "The caller's live sessions in this tenant, newest first",
          querystring: PageQuery,
          response: { 200: SessionsPage, ...problems(400, 401) },
        },
      },
      async (request) =>
        service.listSessions(principalOf(request), {
          limit: request.query.limit ?? 50,
          cursor: request.query.cursor,
        }),
    );

    app.delete(
      '/auth/sessions/:id',
      {
        schema: {
          tags,
          summary: "Revoke one of the caller's sessions",
          params: IdParams,
          response: { 204: { type: 'null' }, ...problems(401, 404) },
        },
      },
      async (request, reply) => {
        await service.revokeSession(principalOf(request), request.params.id);
        return reply.code(204).send();
      },
    );

    app.get(
      '/.well-known/jwks.json',
      {
        config: { public: true },
        schema: {
          tags,
          summary: 'The public keys that verify access tokens',
          security: [],
          response: { 200: Jwks },
        },
      },
      async (_request, reply) => {
        reply.header('cache-control', 'public, max-age=300');
        return service.jwks();
      },
    );
  };
}
