/**
 * Logins per second through the real API (argon2id verify, session row, refresh token, signed
 * access token, outbox event) beside the raw argon2id rate at the same parameters, measured in the
 * same run; and the API process's event-loop lag (p99) during the logins: argon2 runs on threads of
 * its own at a lower priority, so the loop should stay responsive.
 * The raw rate is @node-rs/argon2's own, on libuv's pool at normal priority, with one verify in
 * flight per core, argon2's best case: in three paired runs, 8 in flight (as many as the logins)
 * gave 0.5 to 17 % less.
 * The load comes from an autocannon worker thread, so it does not weigh on the measured loop.
 * Then authenticated reads, alone and during a burst of logins: what the logins leave to the rest.
 */
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { verify } from '@node-rs/argon2';
import autocannon from 'autocannon';
import { hashPassword } from '../apps/api/src/modules/auth';
import { createAuthBenchApp } from './auth-app';
import { registerTenant, TEST_PASSWORD } from '../apps/api/test/support/auth';
import { okPerSecond, report, succeeded } from './lib';

const SECONDS = 10;
const CONNECTIONS = 8;
const READERS = 4;
const WARM_UP_SECONDS = 15;

/** argon2id verifications per second with `concurrency` in flight, for `seconds`. */
async function rawVerifyRate(concurrency: number, seconds: number): Promise<number> {
  const hash = await hashPassword(TEST_PASSWORD);
  const until = Date.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        if (!(await verify(hash, TEST_PASSWORD))) throw new Error('verify failed');
        done += 1;
      }
    }),
  );
  return done / seconds;
}

export async function benchLogin(): Promise<void> {
  const t = await createAuthBenchApp();
  try {
    const admin = await registerTenant(t.app);
    const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const request = {
      url: `${url}/auth/login`,
      method: 'POST' as const,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: admin.user.email, password: TEST_PASSWORD }),
    };
    // A running server's logins: V8 optimizes the login path only after a few thousand of them,
    // and a 2 s warm-up measured it half-compiled (0.67 of raw, against 0.73 in later rounds).
    await autocannon({ ...request, connections: CONNECTIONS, duration: WARM_UP_SECONDS, workers: 1 });

    // The raw rate is measured before and after the logins and averaged: on a shared machine the
    // load drifts, and the two halves bracket the login run.
    const rawBefore = await rawVerifyRate(availableParallelism(), SECONDS / 2);

    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const result = await autocannon({ ...request, connections: CONNECTIONS, duration: SECONDS, workers: 1 });
    lag.disable();
    const raw = (rawBefore + (await rawVerifyRate(availableParallelism(), SECONDS / 2))) / 2;
    const ok = result['2xx'];
    succeeded(result, 'logins');
    const loginRate = ok / result.duration;

    report({
      benchmark: 'login',
      metric: 'logins/s',
      value: loginRate,
      unit: 'logins/s',
      baseline: { name: 'raw argon2id verify (m=19456,t=2,p=1)', value: raw, unit: 'verifies/s' },
      goal: '>= 0.9 of raw',
    });
    report({
      benchmark: 'login',
      metric: 'event-loop lag p99',
      value: lag.percentile(99) / 1e6,
      unit: 'ms',
      goal: '<= 20 ms',
    });
    report({ benchmark: 'login', metric: 'login latency p99', value: result.latency.p99, unit: 'ms' });

    // What a burst of logins leaves to everything else: authenticated reads alone, then beside
    // four times the logins' connections.
    const me = { url: `${url}/auth/me`, headers: admin.auth, connections: READERS, workers: 1 };
    await autocannon({ ...me, duration: 2 }); // warm-up
    const alone = succeeded(await autocannon({ ...me, duration: SECONDS / 2 }), 'reads');
    const [flooded, burst] = await Promise.all([
      autocannon({ ...me, duration: SECONDS }),
      autocannon({ ...request, connections: 4 * CONNECTIONS, duration: SECONDS, workers: 1 }),
    ]);
    succeeded(flooded, 'reads during logins');
    succeeded(burst, 'logins beside reads');
    report({
      benchmark: 'login',
      metric: 'GET /auth/me during logins',
      value: okPerSecond(flooded),
      unit: 'req/s',
      baseline: { name: 'GET /auth/me alone', value: okPerSecond(alone), unit: 'req/s' },
    });
    report({
      benchmark: 'login',
      metric: 'GET /auth/me p99 during logins',
      value: flooded.latency.p99,
      unit: 'ms',
    });
  } finally {
    await t.close();
  }
}
