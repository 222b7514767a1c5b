/**
 * A build step (build.mjs runs it after bundling): writes the embedded database's template, a
 * migrated PGlite data directory, beside the bundle, so that a first `npm start` loads it instead
 * of running initdb and every migration. `node dist/embedded-template.js <outdir>`.
 */
import path from 'node:path';
import { EMBEDDED_TEMPLATE_FILE, writeEmbeddedTemplate } from './platform/db/database';
import { migrate } from './platform/db/migrate';

const outdir = process.argv[2];
if (!outdir) throw new Error('usage: embedded-template.js <outdir>');
await writeEmbeddedTemplate(path.join(outdir, EMBEDDED_TEMPLATE_FILE), (database) => migrate(database));
