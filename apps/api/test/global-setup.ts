import { ensureTemplate } from './support/database';
import { postgresReachable } from './support/services';

/** Builds the migrated template database once per run, before any test file clones it. */
export default async function setup(): Promise<void> {
  if (await postgresReachable()) await ensureTemplate();
}
