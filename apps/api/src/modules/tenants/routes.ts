import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { principalOf } from '../../platform/http/auth-guard';
import { IdParams, PageQuery, problems } from '../../platform/http/schemas';
import {
  InvitationBody,
  InvitationSchema,
  InvitationsPage,
  RolesBody,
  TenantSchema,
  TenantSettingsBody,
  TenantUserSchema,
  UsersPage,
} from './schemas';
import type { TenantService } from './service';

const tags = ['tenants'];
const config = { permission: 'manage:users' as const };

export function tenantRoutes(service: TenantService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/tenants/current',
      {
        config,
        schema: {
          tags,
          summary: "The caller's tenant",
          response: { 200: TenantSchema, ...problems(401, 403) },
        },
      },
      async (request) => service.current(principalOf(request)),
    );

    app.patch(
      '/tenants/current',
      {
        config: { permission: 'manage:tenant' },
        schema: {
          tags,
          summary: "Change the tenant's name or time zone (dashboards count days in it)",
          body: TenantSettingsBody,
          response: { 200: TenantSchema, ...problems(400, 401, 403) },
        },
      },
      async (request) => service.updateSettings(principalOf(request), request.body),
    );

    app.get(
      '/tenants/current/users',
      {
        config,
        schema: {
          tags,
          summary: 'The members of the tenant and their roles',
          querystring: PageQuery,
          response: { 200: UsersPage, ...problems(400, 401, 403) },
        },
      },
      async (request) =>
        service.users(principalOf(request), {
          limit: request.query.limit ?? 50,
          cursor: request.query.cursor,
        }),
    );

    app.post(
      '/tenants/current/invitations',
      {
        config,
        schema: {
          tags,
          summary: 'Invite an email address into the tenant with roles (mails a single-use invitation link)',
          body: InvitationBody,
          response: { 201: InvitationSchema, ...problems(400, 401, 403, 409) },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await service.invite(principalOf(request), request.body)),
    );

    app.get(
      '/tenants/current/invitations',
      {
        config,
        schema: {
          tags,
          summary: 'The pending invitations (neither accepted nor expired), newest first',
          querystring: PageQuery,
          response: { 200: InvitationsPage, ...problems(400, 401, 403) },
        },
      },
      async (request) =>
        service.invitations(principalOf(request), {
          limit: request.query.limit ?? 50,
          cursor: request.query.cursor,
        }),
    );

    app.delete(
      '/tenants/current/invitations/:id',
      {
        config,
        schema: {
          tags,
          summary: 'Revoke a pending invitation (its link stops working at once)',
          params: IdParams,
          response: { 204: { type: 'null' }, ...problems(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        await service.revokeInvitation(principalOf(request), request.params.id);
        return reply.code(204).send();
      },
    );

    app.patch(
      '/tenants/current/users/:id',
      {
        config,
        schema: {
          tags,
          summary: "Replace a member's roles (a member losing a role is signed out of the tenant)",
          params: IdParams,
          body: RolesBody,
          response: { 200: TenantUserSchema, ...problems(400, 401, 403, 404, 409) },
        },
      },
      async (request) => service.changeRoles(principalOf(request), request.params.id, request.body.roles),
    );

    app.delete(
      '/tenants/current/users/:id',
      {
        config,
        schema: {
          tags,
          summary: 'Remove a member from the tenant (their sessions in it are revoked)',
          params: IdParams,
          response: { 204: { type: 'null' }, ...problems(401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        await service.remove(principalOf(request), request.params.id);
        return reply.code(204).send();
      },
    );
  };
}
