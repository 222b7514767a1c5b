import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from './database';
import { TEST_REDIS_URL } from './services';

/** As `npm start`, the Dockerfile and the manifests run the platform (see docs/decisions.md). */
const NODE_FLAGS = ['--max-old-space-size=192'];

const apiRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface PlatformProcess {
  role: 'api' | 'worker';
  url: string;
  child: ChildProcess;
  /** Sends a signal (SIGKILL for a crash) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a fresh process of the same role on the same port. */
  restart(): Promise<void>;
}

export interface Cluster {
  database: TestDatabase;
  redisPrefix: string;
  apis: PlatformProcess[];
  workers: PlatformProcess[];
  stop(): Promise<void>;
}

async function waitReady(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode} before it was ready`);
    try {
      if ((await fetch(`${url}/health/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} was not ready within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Separate OS processes of the platform (`ROLE=api` and `ROLE=worker`) on one PostgreSQL database
 * and one Redis, as a deployment runs them, from the bundle the global setup builds (dist-test).
 */
export async function startCluster(options: {
  apis: number;
  workers: number;
  env?: Record<string, string>;
  redisUrl?: string;
}): Promise<Cluster> {
  const database = await createTestDatabase({ poolSize: 2 });
  const redisPrefix = `cluster:${randomBytes(4).toString('hex')}:`;
  const dataDir = path.join(os.tmpdir(), `tessera-cluster-${randomBytes(4).toString('hex')}`);
  const masterKey = randomBytes(32).toString('base64');

  const launch = async (role: 'api' | 'worker'): Promise<PlatformProcess> => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    // CLUSTER_CPU_PROF=dir writes the V8 CPU profiles of each process's threads to dir/<role>-<port>
    // when it exits (for profiling benchmarks); node names each thread's file after the thread.
    const profile = process.env.CLUSTER_CPU_PROF
      ? ['--cpu-prof', `--cpu-prof-dir=${path.join(process.env.CLUSTER_CPU_PROF, `${role}-${port}`)}`]
      : [];
    const spawnChild = () =>
      spawn(
        process.execPath,
        [...profile, ...NODE_FLAGS, '--enable-source-maps', path.join(apiRoot, 'dist-test/main.js')],
        {
          cwd: apiRoot,
          env: {
            ...process.env,
            ROLE: role,
            PORT: String(port),
            HOST: '127.0.0.1',
            PUBLIC_URL: url,
            DATABASE_URL: database.url,
            DATABASE_POOL_SIZE: '5',
            REDIS_URL: options.redisUrl ?? TEST_REDIS_URL,
            REDIS_KEY_PREFIX: redisPrefix,
            MASTER_KEY: masterKey,
            DATA_DIR: dataDir,
            LOG_LEVEL: process.env.CLUSTER_LOG_LEVEL ?? 'warn',
            EVENT_RETRY_BASE_MS: '200',
            OUTBOX_POLL_MS: '100',
            ...options.env,
          },
          stdio: ['ignore', 'inherit', 'inherit'],
        },
      );
    const proc: PlatformProcess = {
      role,
      url,
      child: spawnChild(),
      async kill(signal = 'SIGTERM') {
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
        const exited = new Promise((resolve) => proc.child.once('exit', resolve));
        proc.child.kill(signal);
        await exited;
      },
      async restart() {
        await proc.kill();
        proc.child = spawnChild();
        await waitReady(url, proc.child);
      },
    };
    await waitReady(url, proc.child);
    return proc;
  };

  // The first process migrates alone; the others then start together.
  const first = await launch('api');
  const rest = await Promise.all([
    ...Array.from({ length: options.apis - 1 }, () => launch('api')),
    ...Array.from({ length: options.workers }, () => launch('worker')),
  ]);
  const all = [first, ...rest];
  return {
    database,
    redisPrefix,
    apis: all.filter((proc) => proc.role === 'api'),
    workers: all.filter((proc) => proc.role === 'worker'),
    async stop() {
      await Promise.all(all.map((proc) => proc.kill()));
      await database.drop();
    },
  };
}

export interface PrivateRedis {
  url: string;
  /** SIGKILLs the server and starts it again on the same port and files (append-only file on). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A Redis server of the test's own, so that restarting it disturbs no other test. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-redis-'));
  const launch = async () => {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 10_000;
    while (!(await portOpen(port))) {
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return child;
  };
  let child = await launch();
  const kill = async (signal: NodeJS.Signals) => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    async restart() {
      await kill('SIGKILL');
      child = await launch();
    },
    async stop() {
      await kill('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
