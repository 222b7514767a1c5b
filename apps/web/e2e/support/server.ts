import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../../api/test/support/cluster';
import { createTestDatabase, type TestDatabase } from '../../../api/test/support/database';
import { TEST_REDIS_URL } from '../../../api/test/support/services';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

export interface RunningPlatform {
  url: string;
  stop(): Promise<void>;
}

/**
 * The built platform (`apps/api/dist`, serving `apps/web/dist`) as a real process on real
 * PostgreSQL and Redis, as `npm start` runs it.
 */
export async function startPlatform(env: Record<string, string> = {}): Promise<RunningPlatform> {
  const database: TestDatabase = await createTestDatabase({ poolSize: 2 });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(process.execPath, [path.join(repoRoot, 'apps/api/dist/main.js')], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: url,
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `e2e:${randomBytes(4).toString('hex')}:`,
      DATA_DIR: path.join(os.tmpdir(), `tessera-e2e-${randomBytes(4).toString('hex')}`),
      LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // Generous: a fresh database is migrated at start, and CI machines are often busy.
  const startTimeoutMs = Number(process.env.E2E_START_TIMEOUT_MS ?? 90_000);
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the platform exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the platform did not become ready in ${startTimeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await database.drop();
    },
  };
}
