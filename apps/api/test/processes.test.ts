import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from './support/cluster';
import { serviceAvailable } from './support/services';

const servicesUp = (await serviceAvailable('postgres')) && (await serviceAvailable('redis'));

describe.runIf(servicesUp)('separate api and worker processes on PostgreSQL and Redis', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster({ apis: 1, workers: 1 });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('both roles report ready with the database and Redis reachable', async () => {
    for (const proc of [...cluster.apis, ...cluster.workers]) {
      const response = await fetch(`${proc.url}/health/ready`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: 'ok', checks: { database: 'ok', redis: 'ok' } });
    }
  });

  it('a worker serves only its probes, not the API', async () => {
    const response = await fetch(`${cluster.workers[0]!.url}/auth/me`);
    expect(response.status).toBe(404);
  });

  it('stops gracefully on SIGTERM', async () => {
    const worker = cluster.workers[0]!;
    await worker.kill('SIGTERM');
    expect(worker.child.exitCode).toBe(0);
  });
});
