import { uuidv7 } from '@tessera/contracts';
import Fastify, { type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { serviceAvailable } from '../../../test/support/services';
import { withSystem, withTenant } from '../db/tenant';
import { AppError } from '../errors';
import { principalOf } from './auth-guard';
import { idempotency, requestFingerprint } from './idempotency';
import { registerProblemHandlers } from './problem';

const postgresUp = await serviceAvailable('postgres');

/**
 * The mechanism on its own, in two Fastify instances sharing one database as two API processes
 * would. The caller's tenant is set directly here; the orders route tests exercise it with real
 * access tokens.
 */
describe.runIf(postgresUp)('Idempotency-Key', () => {
  let testDatabase: TestDatabase;
  const tenantId = uuidv7();
  const otherTenantId = uuidv7();
  const processes: FastifyInstance[] = [];
  let executions = 0;
  let gate: Promise<void> = Promise.resolve();

  async function apiProcess(): Promise<FastifyInstance> {
    const app = Fastify();
    registerProblemHandlers(app);
    app.decorateRequest('principalOrNull', null);
    app.addHook('onRequest', async (request) => {
      const tenant = request.headers['x-test-tenant'] === 'other' ? otherTenantId : tenantId;
      request.principalOrNull = {
        userId: uuidv7(),
        tenantId: tenant,
        email: 'a@b.test',
        roles: [],
        permissions: [],
        sessionId: uuidv7(),
      };
    });
    const keys = idempotency(testDatabase.database.db);
    app.post('/things', { ...keys.hooks }, async (request, reply) => {
      executions++;
      await gate;
      const body = request.body as { fail?: string; amount: number };
      if (body.fail === 'server') throw new Error('boom');
      if (body.fail === 'client') throw new AppError('insufficient_stock');
      return reply.code(201).send({ id: uuidv7(), amount: body.amount });
    });
    // A route whose work is one transaction, recording its answer in it.
    app.post('/things-in-tx', { ...keys.hooks }, async (request, reply) => {
      executions++;
      const body = request.body as { fail?: string; amount: number };
      reply.code(201);
      const thing = await withTenant(testDatabase.database.db, principalOf(request).tenantId, async (tx) => {
        const made = { id: uuidv7(), amount: body.amount };
        await keys.recordIn(tx, request, reply, made);
        if (body.fail === 'in-transaction') throw new AppError('insufficient_stock');
        return made;
      });
      // The process fails once the work has committed, before it could answer.
      if (body.fail === 'after-commit') throw new Error('crashed after the commit');
      return reply.send(thing);
    });
    // A route whose work spans transactions: the first begins a thing, a later step finishes it.
    app.post('/things-in-steps', { ...keys.hooks }, async (request, reply) => {
      executions++;
      const body = request.body as { fail?: string; amount: number };
      const resumed = keys.resumed(request);
      const id =
        resumed ??
        (await withTenant(testDatabase.database.db, principalOf(request).tenantId, async (tx) => {
          const begun = uuidv7();
          await keys.began(tx, request, begun);
          return begun;
        }));
      if (body.fail === 'server' && !resumed) throw new Error('the second step failed');
      return reply.code(201).send({ id, amount: body.amount, resumed: resumed !== null });
    });
    await app.ready();
    processes.push(app);
    return app;
  }

  const post = (
    app: FastifyInstance,
    key: string | undefined,
    payload: unknown,
    tenant?: 'other',
    url = '/things',
  ) =>
    app.inject({
      method: 'POST',
      url,
      headers: {
        ...(key === undefined ? {} : { 'idempotency-key': key }),
        ...(tenant ? { 'x-test-tenant': tenant } : {}),
      },
      payload: payload as Record<string, unknown>,
    });

  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    await withSystem(testDatabase.database.db, (tx) =>
      tx
        .insertInto('tenants')
        .values([
          { id: tenantId, name: 'Shop' },
          { id: otherTenantId, name: 'Other' },
        ])
        .execute(),
    );
  });

  afterAll(async () => {
    await Promise.all(processes.map((app) => app.close()));
    await testDatabase?.drop();
  });

  it('fingerprints ignore key order but not values', () => {
    expect(requestFingerprint('POST', '/a', { x: 1, y: [1, { b: 2, a: 1 }] })).toBe(
      requestFingerprint('POST', '/a', { y: [1, { a: 1, b: 2 }], x: 1 }),
    );
    expect(requestFingerprint('POST', '/a', { x: 1 })).not.toBe(requestFingerprint('POST', '/a', { x: 2 }));
    expect(requestFingerprint('POST', '/a', { x: 1 })).not.toBe(requestFingerprint('POST', '/b', { x: 1 }));
  });

  it('replays the first response, status and body, from any process; another body gets 422', async () => {
    const [a, b] = [await apiProcess(), await apiProcess()];
    const before = executions;
    const first = await post(a, 'key-1', { amount: 5 });
    expect(first.statusCode).toBe(201);
    const replay = await post(b, 'key-1', { amount: 5 });
    expect(replay.statusCode).toBe(201);
    expect(replay.body).toBe(first.body);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.headers['content-type']).toContain('application/json');
    expect(executions - before).toBe(1);

    const conflict = await post(b, 'key-1', { amount: 6 });
    expect(conflict.statusCode).toBe(422);
    expect(conflict.json()).toMatchObject({ code: 'idempotency_conflict' });
    // Keys are per tenant: another tenant's identical key is its own.
    expect((await post(a, 'key-1', { amount: 6 }, 'other')).statusCode).toBe(201);
    expect(executions - before).toBe(2);
    // Without a key nothing is remembered.
    expect((await post(a, undefined, { amount: 5 })).statusCode).toBe(201);
    expect((await post(a, undefined, { amount: 5 })).statusCode).toBe(201);
  });

  it('answers 409 idempotency_in_progress while the first request runs, in another process too', async () => {
    const [a, b] = [await apiProcess(), await apiProcess()];
    let release!: () => void;
    gate = new Promise((resolve) => (release = resolve));
    const first = post(a, 'key-slow', { amount: 1 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const during = await post(b, 'key-slow', { amount: 1 });
    expect(during.statusCode).toBe(409);
    expect(during.json()).toMatchObject({ code: 'idempotency_in_progress' });
    expect(during.headers['retry-after']).toBe('1');
    release();
    gate = Promise.resolve();
    expect((await first).statusCode).toBe(201);
    const after = await post(b, 'key-slow', { amount: 1 });
    expect(after.statusCode).toBe(201);
    expect(after.body).toBe((await first).body);
  });

  it('of many simultaneous identical requests exactly one runs', async () => {
    const apps = [await apiProcess(), await apiProcess()];
    const before = executions;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(apps[i % 2]!, 'key-race', { amount: 3 })),
    );
    expect(executions - before).toBe(1);
    for (const answer of answers) expect([201, 409]).toContain(answer.statusCode);
  });

  it('replays client errors, but a server error frees the key for a retry', async () => {
    const app = await apiProcess();
    const refused = await post(app, 'key-4xx', { amount: 1, fail: 'client' });
    expect(refused.statusCode).toBe(409);
    const again = await post(app, 'key-4xx', { amount: 1, fail: 'client' });
    expect(again.statusCode).toBe(409);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(refused.body);

    expect((await post(app, 'key-5xx', { amount: 1, fail: 'server' })).statusCode).toBe(500);
    const before = executions;
    expect((await post(app, 'key-5xx', { amount: 1, fail: 'server' })).statusCode).toBe(500);
    expect(executions - before).toBe(1);
  });

  it('forgets keys after they expire, and lets a retry take over a dead process claim after its lease', async () => {
    const app = await apiProcess();
    const first = await post(app, 'key-old', { amount: 1 });
    await sql`update idempotency_keys set expires_at = now() - interval '1 second' where key = 'key-old'`.execute(
      testDatabase.database.db,
    );
    const fresh = await post(app, 'key-old', { amount: 2 });
    expect(fresh.statusCode).toBe(201);
    expect(fresh.body).not.toBe(first.body);

    // A claim left running by a process that died: blocked during its lease, taken over after it.
    await withSystem(testDatabase.database.db, (tx) =>
      sql`insert into idempotency_keys (tenant_id, scope, key, fingerprint, state, locked_until, expires_at)
          values (${tenantId}, 'POST /things', 'key-dead', ${requestFingerprint('POST', '/things', { amount: 1 })}, 'running',
                  now() + interval '1 minute', now() + interval '1 day')`.execute(tx),
    );
    expect((await post(app, 'key-dead', { amount: 1 })).statusCode).toBe(409);
    await sql`update idempotency_keys set locked_until = now() - interval '1 second' where key = 'key-dead'`.execute(
      testDatabase.database.db,
    );
    expect((await post(app, 'key-dead', { amount: 1 })).statusCode).toBe(201);
  });

  it('completes a key in the transaction of the work it answers: committed work never runs twice', async () => {
    const app = await apiProcess();
    const postInTx = (key: string, payload: unknown) => post(app, key, payload, undefined, '/things-in-tx');
    const first = await postInTx('key-tx', { amount: 1 });
    expect(first.statusCode).toBe(201);
    const replay = await postInTx('key-tx', { amount: 1 });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toBe(first.body);

    // The work committed but the process failed before answering: the retry gets the recorded
    // answer, where a key completed after the answer would have been freed and the work run again.
    const before = executions;
    const crash = { amount: 2, fail: 'after-commit' };
    expect((await postInTx('key-crash', crash)).statusCode).toBe(500);
    const retried = await postInTx('key-crash', crash);
    expect(retried.statusCode).toBe(201);
    expect(retried.json()).toMatchObject({ amount: 2 });
    expect(executions - before).toBe(1);

    // Rolled back with the work, the recorded answer is gone: the error answer is what is kept.
    const rollback = { amount: 3, fail: 'in-transaction' };
    const refused = await postInTx('key-rollback', rollback);
    expect(refused.statusCode).toBe(409);
    const again = await postInTx('key-rollback', rollback);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(refused.body);
  });

  it('hands a retry the resource a failed or dead attempt began, to finish it rather than begin another', async () => {
    const [a, b] = [await apiProcess(), await apiProcess()];
    const postInSteps = (app: FastifyInstance, key: string, payload: unknown) =>
      post(app, key, payload, undefined, '/things-in-steps');
    const failing = { amount: 1, fail: 'server' };
    const began = await postInSteps(a, 'key-steps', failing);
    expect(began.statusCode).toBe(500);
    const [row] = await withSystem(testDatabase.database.db, (tx) =>
      tx.selectFrom('idempotency_keys').select('resource_id').where('key', '=', 'key-steps').execute(),
    );
    const resumed = await postInSteps(b, 'key-steps', failing);
    expect(resumed.statusCode).toBe(201);
    expect(resumed.json()).toEqual({ id: row!.resource_id, amount: 1, resumed: true });
    const replay = await postInSteps(a, 'key-steps', failing);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toBe(resumed.body);

    // A process that died after beginning: its claim is kept through its lease, then resumed.
    const dead = uuidv7();
    await withSystem(testDatabase.database.db, (tx) =>
      sql`insert into idempotency_keys (tenant_id, scope, key, fingerprint, state, locked_until, expires_at, resource_id)
          values (${tenantId}, 'POST /things-in-steps', 'key-steps-dead',
                  ${requestFingerprint('POST', '/things-in-steps', { amount: 2 })}, 'running',
                  now() + interval '1 minute', now() + interval '1 day', ${dead})`.execute(tx),
    );
    expect((await postInSteps(a, 'key-steps-dead', { amount: 2 })).statusCode).toBe(409);
    await sql`update idempotency_keys set locked_until = now() - interval '1 second' where key = 'key-steps-dead'`.execute(
      testDatabase.database.db,
    );
    expect((await postInSteps(b, 'key-steps-dead', { amount: 2 })).json()).toEqual({
      id: dead,
      amount: 2,
      resumed: true,
    });

    // An expired key starts afresh: what it once began is not resumed.
    await sql`update idempotency_keys set expires_at = now() - interval '1 second' where key = 'key-steps'`.execute(
      testDatabase.database.db,
    );
    expect((await postInSteps(a, 'key-steps', { amount: 3 })).json()).toMatchObject({ resumed: false });
  });

  it('refuses a malformed key with 400', async () => {
    const app = await apiProcess();
    const answer = await post(app, 'x'.repeat(256), { amount: 1 });
    expect(answer.statusCode).toBe(400);
    expect(answer.json()).toMatchObject({
      code: 'validation_failed',
      errors: [{ path: 'headers.idempotency-key' }],
    });
  });
});
