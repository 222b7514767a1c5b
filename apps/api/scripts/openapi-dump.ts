/**
 * Writes docs/openapi.yaml: the OpenAPI document the API serves at /openapi.json, generated from the
 * route schemas of a fully built app (every module wired in, as in production). With --check, fails
 * when the committed file differs (CI), so the document never drifts from the code.
 *
 *   tsx apps/api/scripts/openapi-dump.ts [--check] [--file <path>]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import pino from 'pino';
import { buildApp } from '../src/app';
import { createModules } from '../src/modules';
import { loadConfig } from '../src/platform/config';
import { createPlatform } from '../src/platform/platform';
import { createTestDatabase } from '../test/support/database';

export const OPENAPI_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../docs/openapi.yaml',
);

const HEADER = [
  '# The Tessera HTTP API, generated from the route schemas by `npm run openapi:dump`. Do not edit:',
  '# change the routes, then regenerate this file (CI checks that it is current).',
  '',
].join('\n');

/**
 * The document as YAML, from an app built on a scratch database with a fixed configuration, so
 * that the output depends on the code only. `extra` adds routes (tests use it to change the API).
 */
export async function renderOpenApi(extra?: FastifyPluginAsync): Promise<string> {
  const scratch = await createTestDatabase({ poolSize: 2 });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-openapi-'));
  let app: FastifyInstance | null = null;
  try {
    const config = loadConfig({
      NODE_ENV: 'production',
      LOG_LEVEL: 'silent',
      DATABASE_URL: scratch.url,
      DATA_DIR: dataDir,
      MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    const logger = pino({ level: 'silent' });
    const platform = await createPlatform(config, logger, { database: scratch.database, redis: null });
    app = await buildApp(config, { platform, modules: createModules(platform) });
    if (extra) await app.register(extra);
    await app.ready();
    return HEADER + app.swagger({ yaml: true });
  } finally {
    await app?.close();
    await scratch.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The first lines where two documents differ, for a readable drift report; empty when equal. */
export function openApiDrift(committed: string, generated: string, max = 10): string[] {
  if (committed === generated) return [];
  const a = committed.split('\n');
  const b = generated.split('\n');
  const lines: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length) && lines.length < max; i++) {
    if (a[i] !== b[i])
      lines.push(
        `line ${i + 1}: committed ${JSON.stringify(a[i] ?? '')}, code ${JSON.stringify(b[i] ?? '')}`,
      );
  }
  return lines;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const fileFlag = args.indexOf('--file');
  const target = fileFlag >= 0 && args[fileFlag + 1] ? path.resolve(args[fileFlag + 1]!) : OPENAPI_FILE;
  const document = await renderOpenApi();
  const shown = path.relative(process.cwd(), target);
  if (args.includes('--check')) {
    const committed = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
    const drift = openApiDrift(committed, document);
    if (drift.length) {
      console.error(`${shown} is out of date with the routes: run \`npm run openapi:dump\` and commit it.`);
      for (const line of drift) console.error(`  ${line}`);
      process.exit(1);
    }
    console.log(`${shown} matches the routes`);
  } else {
    fs.writeFileSync(target, document);
    console.log(`wrote ${shown}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
