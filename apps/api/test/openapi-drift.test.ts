import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { openApiDrift, renderOpenApi } from '../scripts/openapi-dump';
import { createTestApp } from './support/app';
import { serviceAvailable } from './support/services';

const run = promisify(execFile);
const apiRoot = path.resolve(import.meta.dirname, '..');

describe.runIf(await serviceAvailable('postgres'))('the committed OpenAPI document', () => {
  it('is generated from the route schemas, and the check fails when a route changes', async () => {
    const current = await renderOpenApi();
    expect(current).toContain('/commerce/orders:');
    expect(current).toContain('/ws:');
    expect(current).toContain('/metrics:');
    // Rendering is deterministic: the same code gives the same text.
    expect(openApiDrift(current, await renderOpenApi())).toEqual([]);

    const changed = await renderOpenApi(async (app) => {
      app.get(
        '/commerce/widgets',
        {
          schema: {
            tags: ['widgets'],
            summary: 'A route added after the dump',
            response: { 200: Type.Object({ ok: Type.Boolean() }) },
          },
        },
        async () => ({ ok: true }),
      );
    });
    const drift = openApiDrift(current, changed);
    expect(drift.length).toBeGreaterThan(0);
    expect(drift.join('\n')).toMatch(/widgets/);

    // The CLI's --check against a stale document: exit 1, naming the fix.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openapi-check-'));
    const file = path.join(dir, 'openapi.yaml');
    try {
      fs.writeFileSync(
        file,
        current.replace('/commerce/orders/{id}/cancel:', '/commerce/orders/{id}/abandon:'),
      );
      const failure = await run(
        process.execPath,
        ['--import', 'tsx', 'scripts/openapi-dump.ts', '--check', '--file', file],
        { cwd: apiRoot },
      ).then(
        () => null,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failure?.code).toBe(1);
      expect(failure?.stderr).toContain('npm run openapi:dump');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('documents a 429 on every rate-limited route: all but the probes and the scrape', async () => {
    const testApp = await createTestApp();
    try {
      const spec = testApp.app.swagger() as {
        paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
      };
      const operations = Object.entries(spec.paths).flatMap(([route, methods]) =>
        Object.entries(methods).map(([method, operation]) => ({
          name: `${method.toUpperCase()} ${route}`,
          limited: Boolean(operation.responses?.['429']),
        })),
      );
      expect(operations.length).toBeGreaterThan(60);
      expect(
        operations.filter(
          (operation) => operation.limited === /^GET \/(health|metrics)/.test(operation.name),
        ),
      ).toEqual([]);
    } finally {
      await testApp.close();
    }
  });
});
