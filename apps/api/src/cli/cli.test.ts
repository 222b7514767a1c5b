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
  });
});
