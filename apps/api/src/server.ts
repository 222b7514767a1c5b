import type { FastifyInstance } from 'fastify';
import { buildApp } from './app';
import { createModules } from './modules';
import type { Config } from './platform/config';
import { createLogger } from './platform/logger';
import { createPlatform } from './platform/platform';
import { startWorker } from './worker';

export interface RunningServer {
  app: FastifyInstance;
  stop(): Promise<void>;
}

/**
 * Starts what ROLE asks for: the HTTP API, the event worker, or both (the default). SIGTERM and
 * SIGINT stop accepting connections, let requests in flight finish (their handlers too, even when the
 * client has gone), then close the pools.
 */
export async function startServer(config: Config): Promise<RunningServer> {
  const logger = createLogger(config);
  const platform = await createPlatform(config, logger);
  const modules = createModules(platform);

  const stopJobs = config.ROLE !== 'api' ? await startWorker(platform, modules) : async () => undefined;
  // A worker serves only its probes (and metrics) over HTTP, so orchestrators can check it too.
  const served = config.ROLE === 'worker' ? { ...modules, list: [] } : modules;
  const app = await buildApp(config, { platform, modules: served });
  await app.listen({ port: config.PORT, host: config.HOST });
  logger.info(
    { role: config.ROLE, database: platform.database.kind, events: platform.bus.kind, port: config.PORT },
    'tessera started',
  );

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down');
      await app.close();
      // Handlers whose clients hung up are still running: let them end before the pools close.
      if (!(await app.handlersSettled(10_000))) logger.warn('stopping with request handlers still running');
      await stopJobs();
      await platform.close();
      logger.info('stopped');
    })());

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      const force = setTimeout(() => process.exit(1), 15_000).unref();
      stop().then(
        () => {
          clearTimeout(force);
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
  return { app, stop };
}
