import type { Permission } from '@tessera/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors';
import { isApiPath } from './paths';

/** Who is calling: loaded from a verified access token by the guard. */
export interface Principal {
  userId: string;
  tenantId: string;
  email: string;
  roles: string[];
  permissions: Permission[];
  sessionId: string;
}

/** Turns a bearer token into a principal, or throws AppError('unauthenticated'). Provided by the auth module. */
export interface AccessTokenVerifier {
  /** The token's principal, once its session is known to be live: authenticate, then ensureActive. */
  verify(token: string): Promise<Principal>;
  /** The principal a token names, from its signature and claims alone. */
  authenticate(token: string): Promise<Principal>;
  /** Throws unless the principal's session is still live (not logged out or revoked). */
  ensureActive(principal: Principal): Promise<void>;
}

/**
 * What a route needs, in its `config`: `public` routes need nothing; every other route needs a
 * valid access token, and `permission` names what the caller must also hold (403 otherwise).
 */
export interface RouteAccess {
  public?: boolean;
  permission?: Permission;
}

declare module 'fastify' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- merges RouteAccess into Fastify's route config
  interface FastifyContextConfig extends RouteAccess {}
  interface FastifyRequest {
    principalOrNull: Principal | null;
    /** The session check of an authenticated request, under way: resolves to its refusal, or null. */
    sessionRefusal: Promise<Error | null> | null;
  }
}

export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1] ?? null;
}

/** The principal of an authenticated route; the guard has already refused a request without one. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principalOrNull) throw new AppError('unauthenticated');
  return request.principalOrNull;
}

/**
 * Authentication by default: every API route is guarded unless its config says `public: true`.
 * The web app's files (outside the API's paths) are public.
 */
export function registerAuthGuard(
  app: FastifyInstance,
  verifier: AccessTokenVerifier,
  /** Called before a request is refused for its token; may throw instead (a limit). */
  onRefusing: (request: FastifyRequest, reply: FastifyReply) => Promise<void> = async () => undefined,
  /**
   * Registers onRequest hooks that run while the session is being checked, with the principal
   * known (the rate limits): what they ask Redis goes in the same write as the session check.
   */
  meanwhile: () => void = () => undefined,
): void {
  app.decorateRequest('principalOrNull', null);
  app.decorateRequest('sessionRefusal', null);
  app.addHook('onRequest', async (request, reply) => {
    const access = request.routeOptions.config as RouteAccess | undefined;
    const url = request.routeOptions.url;
    if (!url || !isApiPath(url) || access?.public) return;
    const token = bearerToken(request);
    if (!token) {
      await onRefusing(request, reply);
      throw new AppError('unauthenticated', 'A bearer access token is required', {
        headers: { 'www-authenticate': 'Bearer' },
      });
    }
    let principal: Principal;
    try {
      principal = await verifier.authenticate(token);
    } catch (error) {
      if (error instanceof AppError && error.code === 'unauthenticated') await onRefusing(request, reply);
      throw error;
    }
    request.principalOrNull = principal;
    // Asked now, answered in the next onRequest hook: the hooks registered in between (the rate
    // limits) send their counters to Redis in the same write, one round trip for all.
    request.sessionRefusal = verifier.ensureActive(principal).then(
      () => null,
      (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
    );
  });
  meanwhile();
  app.addHook('onRequest', async (request, reply) => {
    const refusal = await request.sessionRefusal;
    if (!refusal) return;
    request.principalOrNull = null;
    if (refusal instanceof AppError && refusal.code === 'unauthenticated') await onRefusing(request, reply);
    throw refusal;
  });
  // Checked after the rate limits, so that a request refused for its session or a permission
  // still counts against its user's and tenant's limits.
  app.addHook('preValidation', async (request) => {
    const permission = (request.routeOptions.config as RouteAccess | undefined)?.permission;
    const principal = request.principalOrNull;
    if (permission && principal && !principal.permissions.includes(permission)) {
      throw new AppError('forbidden', `This needs the ${permission} permission`);
    }
  });
}
