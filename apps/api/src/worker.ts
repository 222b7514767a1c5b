import type { Modules } from './modules';
import type { Platform } from './platform/platform';

/**
 * The event worker: registers every module's consumers on the bus, runs the outbox relay and the
 * modules' periodic jobs; returns the function that stops the jobs, once their passes in flight have
 * ended (the platform stops the rest).
 * In the embedded default it runs inside the API process; with ROLE=worker on its own.
 */
export async function startWorker(platform: Platform, modules: Modules): Promise<() => Promise<void>> {
  for (const module of modules.list) {
    for (const consumer of module.consumers ?? []) platform.bus.register(consumer);
  }
  await platform.bus.start();
  platform.relay.start();
  const stopJobs = modules.list.flatMap((module) => (module.startJobs ? [module.startJobs()] : []));
  platform.logger.info({ bus: platform.bus.kind }, 'event worker started');
  return async () => {
    await Promise.all(stopJobs.map((stop) => stop()));
  };
}
