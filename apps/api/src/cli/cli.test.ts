import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../platform/config';
import { runCli, type CliOutput } from '.';

function capture(): CliOutput & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, log: (line) => lines.push(line), error: (line) => errors.push(line) };
}

describe('the tessera CLI', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-cli-'));
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' });

  it('lists its commands', async () => {
    const out = capture();
    expect(await runCli(['help'], config, out)).toBe(0);
    expect(out.lines.join('\n')).toMatch(/migrate[\s\S]*replay-dead-letters/);
  });

  it('refuses an unknown command and stray arguments with exit code 2', async () => {
    const out = capture();
    expect(await runCli(['launch'], config, out)).toBe(2);
    expect(out.errors[0]).toContain('unknown command "launch"');
    expect(await runCli(['migrate', 'now'], config, out)).toBe(2);
  });

  it('migrates, then replays dead letters, on the embedded database', async () => {
    const out = capture();
    expect(await runCli(['migrate'], config, out)).toBe(0);
    expect(out.lines[0]).toMatch(/^applied 0001_platform/);
    expect(await runCli(['migrate'], config, out)).toBe(0);
    expect(out.lines[1]).toBe('the database is up to date');
    expect(await runCli(['replay-dead-letters'], config, out)).toBe(0);
    expect(out.lines[2]).toBe('replayed 0 dead letters');
    // The first migration of an embedded database: PGlite's initdb and every migration, in WebAssembly.
  }, 120_000);

  it('creates a tenant and a user, rotates keys, settles payments and seeds a demo', async () => {
    const out = capture();
    const password = 'a long operator password';
    const created = [
      'create-tenant',
      '--name',
      'Corner Shop',
      '--email',
      'owner@corner.test',
      '--password',
      password,
    ];
    expect(await runCli(created, config, out)).toBe(0);
    const tenantId = /created tenant (\S+)/.exec(out.lines[0]!)?.[1];
    expect(tenantId).toBeDefined();
    expect(await runCli(created, config, out)).toBe(2);
    expect(out.errors.at(-1)).toContain('email_taken');

    const user = [
      'create-user',
      '--tenant',
      tenantId!,
      '--email',
      'clerk@corner.test',
      '--name',
      'Clerk',
      '--password',
      password,
    ];
    expect(await runCli([...user, '--roles', 'staff'], config, out)).toBe(0);
    expect(out.lines.at(-1)).toMatch(/^created user \S+ with roles staff$/);
    expect(await runCli([...user, '--roles', 'wizard'], config, out)).toBe(2);
    // The commands skip the routes' schemas: the service and the command check what they did.
    const another = ['--tenant', tenantId!, '--name', 'Other', '--roles', 'staff'];
    expect(
      await runCli(
        ['create-user', ...another, '--email', 'not an email', '--password', password],
        config,
        out,
      ),
    ).toBe(2);
    expect(out.errors.at(-1)).toContain('--email must be an email address');
    expect(
      await runCli(
        ['create-user', ...another, '--email', 'other@corner.test', '--password', 'short'],
        config,
        out,
      ),
    ).toBe(2);
    expect(out.errors.at(-1)).toContain('Use at least 12 characters');
    // An existing identity joins another tenant with the password it has.
    const second = /created tenant (\S+)/.exec(
      (await runCli(
        ['create-tenant', '--name', 'Second', '--email', 'owner2@corner.test', '--password', password],
        config,
        out,
      )) === 0
        ? out.lines.at(-1)!
        : '',
    )?.[1];
    expect(
      await runCli(
        [
          'create-user',
          '--tenant',
          second!,
          '--email',
          'clerk@corner.test',
          '--name',
          'Clerk',
          '--password',
          'another long passphrase',
        ],
        config,
        out,
      ),
    ).toBe(0);
    expect(out.lines.at(-1)).toContain('its password is unchanged (--password was not used)');

    expect(await runCli(['rotate-keys'], config, out)).toBe(0);
    expect(out.lines.at(-1)).toMatch(/^signing with new key \S+/);
    expect(await runCli(['reconcile'], config, out)).toBe(0);
    expect(out.lines.at(-1)).toBe('settled 0 payments of unknown outcome');

    const progress: string[] = [];
    const seeded = { ...out, progress: (line: string) => progress.push(line) };
    expect(await runCli(['seed-demo', '--days', '2', '--orders-per-day', '3'], config, seeded)).toBe(0);
    expect(out.lines.at(-1)).toMatch(/^seeded tenant \S+ with 6 paid orders/);
    expect(progress.at(-1)).toContain('100% (6/6 orders)');
  }, 180_000);
});
