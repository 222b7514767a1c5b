import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cors from '@fastify/cors';
import helmet from 'helmet';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AjvCompiler, type ValidatorFactory } from '@fastify/ajv-compiler';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Modules } from './modules';
import type { Config } from './platform/config';
import { AppError } from './platform/errors';
import { registerAuthGuard } from './platform/http/auth-guard';
import { healthRoutes } from './platform/http/health';
import { trackHandlers } from './platform/http/in-flight';
import { registerJsonBodies } from './platform/http/json-body';
import { isApiPath } from './platform/http/paths';
import { registerProblemHandlers, type NotFoundFallback } from './platform/http/problem';
import { limitRefusedRequests, registerRateLimits } from './platform/http/rate-limits';
import { createRateLimiter } from './platform/rate-limit';
import { ProblemSchema } from './platform/http/schemas';
import { registerMetrics } from './platform/metrics';
import type { Platform } from './platform/platform';

export interface AppDeps {
  platform: Platform;
  modules: Modules;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;

const AJV_OPTIONS = { removeAdditional: false, allErrors: true } as const;
const validators = AjvCompiler();

/**
 * Query strings, path parameters and headers arrive as text, and are read as the types their
 * schemas name. A JSON body arrives typed: `null` or "12" where a number is due is the client's
 * mistake, refused rather than stored as 0 or 12.
 */
const buildValidator: ValidatorFactory = (externalSchemas) => {
  const text = validators(externalSchemas, { customOptions: { ...AJV_OPTIONS, coerceTypes: 'array' } });
  const json = validators(externalSchemas, { customOptions: { ...AJV_OPTIONS, coerceTypes: false } });
  return (route) => (route.httpPart === 'body' ? json(route) : text(route));
};

export function defaultWebDist(): string | null {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'apps', 'web', 'dist');
    if (fs.existsSync(path.join(candidate, 'index.html'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** Builds the HTTP application without listening: the server listens, tests use inject(). */
export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // Fastify's logger type is narrower than pino's own; the instance is the same.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: deps.platform.logger as FastifyBaseLogger,
    bodyLimit: config.BODY_LIMIT,
    trustProxy: config.TRUST_PROXY,
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    schemaController: { compilersFactory: { buildValidator } },
    // Fastify's own answer while closing is a bare JSON 503 without a `code`: refuseWhileClosing
    // answers with the problem document instead.
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();
  trackHandlers(app);

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addSchema(ProblemSchema);
  registerJsonBodies(app);
  const webDist = config.WEB_DIST_DIR ?? defaultWebDist();
  registerProblemHandlers(app, webDist ? await serveWebApp(app, webDist) : undefined);

  // Helmet's middleware is built once: @fastify/helmet rebuilt it (parsing the policy again) on
  // every request, about 2% of the API's CPU on a small read.
  const securityHeaders = helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        connectSrc: ["'self'", 'ws:', 'wss:'],
        imgSrc: ["'self'", 'data:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        scriptSrc: ["'self'"],
      },
    },
  });
  app.addHook('onRequest', (request, reply, done) => {
    securityHeaders(request.raw, reply.raw, (error) => done(error instanceof Error ? error : undefined));
  });
  if (config.CORS_ORIGIN) {
    await app.register(cors, {
      origin: config.CORS_ORIGIN.split(',').map((origin) => origin.trim()),
      credentials: true,
      exposedHeaders: [
        'x-request-id',
        'ratelimit-limit',
        'ratelimit-remaining',
        'ratelimit-reset',
        'retry-after',
      ],
    });
  }
  // After the security headers and CORS (a refusal carries them too), before the auth guard and
  // the limits (a closing server asks Redis nothing).
  refuseWhileClosing(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tessera API',
        version: '1.0.0',
        description: 'Multi-tenant commerce: auth, catalog, inventory, orders, payments, analytics.',
      },
      servers: [{ url: config.PUBLIC_URL }],
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
      security: [{ bearer: [] }],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, index) =>
        typeof json.$id === 'string' ? json.$id : `def-${index}`,
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } });
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  const limiter = createRateLimiter(deps.platform.redis, deps.platform.config.REDIS_KEY_PREFIX);
  registerAuthGuard(app, deps.modules.verifier, limitRefusedRequests(deps.platform, limiter), () =>
    registerRateLimits(app, deps.platform, limiter),
  );
  registerMetrics(app, deps.platform);
  await app.register(healthRoutes(deps.platform));
  for (const module of deps.modules.list) {
    if (module.routes) await app.register(module.routes);
  }
  return app;
}

/**
 * Once close() has begun, no new connection is accepted, but a request may still arrive on an open
 * keep-alive connection (pipelined, or on a balancer's pooled socket): it is answered 503
 * `shutting_down` with `Connection: close`, so that the client drops this socket and retries on
 * another instance, and Retry-After for a lone instance coming back.
 */
function refuseWhileClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_request, _reply, done) => {
    if (!closing) return done();
    done(
      new AppError('shutting_down', 'The server is shutting down; retry the request', {
        headers: { connection: 'close', 'retry-after': '1' },
      }),
    );
  });
}

/**
 * The built web app: its files as static routes, and index.html for any other page path, so deep
 * links and reloads work (history routing); API paths keep their 404 problem.
 */
async function serveWebApp(app: FastifyInstance, root: string): Promise<NotFoundFallback> {
  await app.register(fastifyStatic, { root, wildcard: false, index: false, maxAge: '1h' });
  const index = fs.readFileSync(path.join(root, 'index.html'));
  return (request, reply) => {
    const pathname = request.url.split('?')[0] ?? '/';
    if (request.method !== 'GET' || isApiPath(pathname) || /\.[a-z0-9]+$/i.test(pathname)) return null;
    return reply.type('text/html').header('cache-control', 'no-cache').send(index);
  };
}
