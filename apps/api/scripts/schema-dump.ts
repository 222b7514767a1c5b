/**
 * Writes docs/schema.sql: the whole current schema in one readable file, produced by applying every
 * migration to a scratch PostgreSQL database and dumping it. With --check, fails when the committed
 * file differs (CI), so the file never drifts from db/migrations.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '../test/support/database';

const target = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/schema.sql');
const check = process.argv.includes('--check');

const scratch = await createTestDatabase({ poolSize: 1 });
let dump: string;
try {
  dump = execFileSync(
    'pg_dump',
    ['--schema-only', '--no-owner', '--no-privileges', '--no-comments', scratch.url],
    {
      encoding: 'utf8',
    },
  );
} finally {
  await scratch.drop();
}

const schema = [
  '-- The whole current schema, generated from db/migrations by `npm run schema:dump`. Do not edit:',
  '-- change the schema with a new migration, then regenerate this file (CI checks that it is current).',
  '',
  ...dump
    .split('\n')
    .filter((line) => !/^-- Dumped (from|by)/.test(line) && !/^\\(un)?restrict /.test(line))
    .filter((line) => !/^SET |^SELECT pg_catalog\.set_config/.test(line)),
]
  .join('\n')
  .replace(/\n{3,}/g, '\n\n')
  .trimEnd()
  .concat('\n');

if (check) {
  const committed = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
  if (committed !== schema) {
    console.error(
      'docs/schema.sql is out of date with db/migrations: run `npm run schema:dump` and commit it.',
    );
    process.exit(1);
  }
  console.log('docs/schema.sql matches db/migrations');
} else {
  fs.writeFileSync(target, schema);
  console.log(`wrote ${path.relative(process.cwd(), target)}`);
}
