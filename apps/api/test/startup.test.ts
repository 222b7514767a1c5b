import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, UnreachableServiceError } from '../src/platform/config';
import { createPlatform } from '../src/platform/platform';
import { freePort } from './support/cluster';
import { createTestDatabase, type TestDatabase } from './support/database';
import { serviceAvailable } from './support/services';

/**
 * Start-up with a DATABASE_URL or REDIS_URL that reaches nothing: the process exits non-zero within
 * its bounded wait, with one line naming the setting and where it points (its password masked).
 */
const postgresUp = await serviceAvailable('postgres');
const apiRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Exit {
  code: number | null;
  stderr: string;
  ms: number;
}

/** Runs the bundled entry point (built by the global setup) as `start`, as the cluster tests do. */
function start(env: Record<string, string>): Promise<Exit> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--enable-source-maps', path.join(apiRoot, 'dist-test/main.js')], {
    cwd: apiRoot,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  // A process still running past its wait is the failure this guards against.
  const kill = setTimeout(() => child.kill('SIGKILL'), 25_000);
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(kill);
      resolve({ code, stderr, ms: performance.now() - started });
    });
  });
}

/** A TCP server that accepts connections and never answers: a hung server, or a dead peer. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe.runIf(postgresUp)('start-up against services out of reach', () => {
  let testDatabase: TestDatabase;

  beforeAll(async () => {
    testDatabase = await createTestDatabase({ poolSize: 2 });
  });

  afterAll(async () => {
    await testDatabase?.drop();
  });

  it('exits naming DATABASE_URL, its password masked, when nothing listens there', async () => {
    const port = await freePort();
    const exit = await start({ DATABASE_URL: `postgres://tessera:hunter2@127.0.0.1:${port}/tessera` });
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain(
      `cannot connect to PostgreSQL at DATABASE_URL=postgres://tessera:***@127.0.0.1:${port}/tessera: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    expect(exit.stderr).not.toContain('hunter2');
    expect(exit.ms).toBeLessThan(10_000);
  });

  it('exits naming REDIS_URL, its password masked, once its bounded wait for Redis is over', async () => {
    const port = await freePort();
    const exit = await start({
      DATABASE_URL: testDatabase.url,
      REDIS_URL: `redis://:hunter2@127.0.0.1:${port}`,
    });
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain(
      `cannot connect to Redis at REDIS_URL=redis://:***@127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    expect(exit.stderr).not.toContain('hunter2');
    // The wait is 10 s, then the process exits at once.
    expect(exit.ms).toBeLessThan(20_000);
  }, 30_000);

  it('gives up on a PostgreSQL or Redis that accepts connections and never answers', async () => {
    const silent = await silentServer();
    const logger = pino({ level: 'silent' });
    try {
      const attempts = [
        {
          env: { DATABASE_URL: `postgres://tessera:hunter2@127.0.0.1:${silent.port}/tessera` },
          variable: 'DATABASE_URL',
          message: `cannot connect to PostgreSQL at DATABASE_URL=postgres://tessera:***@127.0.0.1:${silent.port}/tessera: no answer within 300 ms`,
        },
        {
          env: { DATABASE_URL: testDatabase.url, REDIS_URL: `redis://127.0.0.1:${silent.port}` },
          variable: 'REDIS_URL',
          message: `cannot connect to Redis at REDIS_URL=redis://127.0.0.1:${silent.port}: not ready within 300 ms`,
        },
      ];
      for (const { env, variable, message } of attempts) {
        const started = performance.now();
        const failure = await createPlatform(loadConfig({ NODE_ENV: 'test', ...env }), logger, {
          connectTimeoutMs: 300,
        }).then(
          () => null,
          (error: unknown) => error,
        );
        expect(failure).toBeInstanceOf(UnreachableServiceError);
        expect(failure).toMatchObject({ variable, message });
        expect(performance.now() - started).toBeLessThan(5_000);
      }
    } finally {
      await silent.close();
    }
  });
});
