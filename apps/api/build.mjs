// Bundles the API's entry point with esbuild: our own code and @tessera/contracts inlined, every
// npm dependency left external (installed, not bundled). `node build.mjs [outdir]`.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

/**
 * Bundles into outdir; with `embeddedTemplate`, also writes the embedded database's template there
 * (a migrated PGlite data directory, so that a first start skips initdb and the migrations).
 */
export async function bundle(outdir = 'dist', { embeddedTemplate = false } = {}) {
  await build({
    absWorkingDir: here,
    entryPoints: ['src/main.ts', 'src/embedded-template.ts'],
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: true,
    external: Object.keys(pkg.dependencies ?? {}),
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  if (embeddedTemplate) {
    execFileSync(process.execPath, [join(here, outdir, 'embedded-template.js'), join(here, outdir)], {
      stdio: 'inherit',
    });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  await bundle(process.argv[2], { embeddedTemplate: true });
