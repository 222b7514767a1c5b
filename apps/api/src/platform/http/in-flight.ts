import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Resolves true once no tracked route handler is running, or false after `timeoutMs`. For
     * shutdown, between close() and closing the pools.
     */
    handlersSettled(timeoutMs: number): Promise<boolean>;
  }
}

/** The routes whose handlers are counted: the modules' own, which reach the database. */
const TRACKED = ['/auth', '/tenants', '/commerce', '/api', '/webhooks'];

/**
 * Counts the modules' route handlers while they run. Fastify's close() waits for open connections,
 * not for handlers: a handler whose client has hung up keeps running, and would reach the
 * database after the pools were closed.
 */
export function trackHandlers(app: FastifyInstance): void {
  let running = 0;
  let waiting: (() => void)[] = [];
  app.addHook('onRoute', (route) => {
    if (!TRACKED.some((prefix) => route.url.startsWith(prefix))) return;
    const handler = route.handler as (this: FastifyInstance, ...args: unknown[]) => unknown;
    route.handler = async function (this: FastifyInstance, ...args: unknown[]) {
      running += 1;
      try {
        return await handler.apply(this, args);
      } finally {
        running -= 1;
        if (running === 0) {
          const settled = waiting;
          waiting = [];
          for (const resolve of settled) resolve();
        }
      }
    };
  });
  app.decorate('handlersSettled', (timeoutMs: number) => {
    if (running === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      waiting.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  });
}
