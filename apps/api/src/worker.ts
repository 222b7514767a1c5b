import type { Modules } from './modules';
import type { Platform } from './platform/platform';

/**
 * The event worker: registers every module's consumers on the bus and runs the outbox relay.
 * In the embedded default it runs inside the API process; with ROLE=worker on its own.
 */
export async function startWorker(platform: Platform, modules: Modules): Promise<void> {
  for (const module of modules.list) {
    for (const consumer of module.consumers ?? []) platform.bus.register(consumer);
  }
  await platform.bus.start();
  platform.relay.start();
  for (const module of modules.list) module.startJobs?.();
  platform.logger.info({ bus: platform.bus.kind }, 'event worker started');
}
