import { ensureTemplate } from './support/database';
import { postgresReachable } from './support/services';

/**
 * Once per run, before any test file: builds the migrated template database that test files
 * clone, and bundles the API for the tests that start it as separate processes.
 */
export default async function setup(): Promise<void> {
  // @ts-expect-error -- the build script is plain JavaScript without type declarations
  const { bundle } = (await import('../build.mjs')) as { bundle: (outdir: string) => Promise<void> };
  await bundle('dist-test');
  if (await postgresReachable()) await ensureTemplate();
}
