import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/support/app';
import { login, registerTenant, type TestTenant } from '../../test/support/auth';
import { serviceAvailable } from '../../test/support/services';
import { buildApp } from '../app';
import { createModules } from '../modules';
import { loadConfig } from '../platform/config';
import { SecretBox } from '../platform/crypto';
import { createPlatform } from '../platform/platform';
import { runCli, type CliOutput } from '.';

const postgresUp = await serviceAvailable('postgres');

const newKey = () => randomBytes(32).toString('base64');

describe.runIf(postgresUp)('rotating the master key', () => {
  const oldKey = newKey();
  const currentKey = newKey();
  let t: TestApp;
  let admin: TestTenant;
  let successor: string;
  let spentRefreshToken: string;

  /** Every sealed value in the database, with the associated data it was sealed for. */
  const sealedValues = async () => {
    const db = t.platform.db;
    const keys = await sql<{ sealed: string; ad: string }>`
      select private_key_sealed as sealed, 'signing_key:' || kid as ad from signing_keys`.execute(db);
    const gateways = await sql<{ sealed: string; ad: string }>`
      select secrets_sealed as sealed, 'payment-gateway:' || tenant_id || ':' || gateway as ad
      from payment_gateway_settings`.execute(db);
    const successors = await sql<{ sealed: string; ad: string }>`
      select replacement_sealed as sealed, 'refresh:' || session_id as ad
      from refresh_tokens where replacement_sealed is not null`.execute(db);
    return [...keys.rows, ...gateways.rows, ...successors.rows];
  };

  const configWith = (env: Record<string, string>) =>
    loadConfig({ ...envOf(t), LOG_LEVEL: 'silent', ...env });

  beforeAll(async () => {
    t = await createTestApp({ env: { MASTER_KEY: oldKey, REFRESH_REUSE_GRACE_SECONDS: '300' } });
    admin = await registerTenant(t.app);
    const put = await t.app.inject({
      method: 'PUT',
      url: '/tenants/current/gateways/stripe',
      headers: admin.auth,
      payload: { secret_key: 'sk_test_rotation', webhook_secret: 'whsec_rotation' },
    });
    expect(put.statusCode).toBe(200);
    spentRefreshToken = admin.refreshToken;
    const refreshed = await t.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refresh_token: spentRefreshToken },
    });
    expect(refreshed.statusCode).toBe(200);
    successor = refreshed.json<{ refresh_token: string }>().refresh_token;
  });

  afterAll(async () => {
    await t?.close();
  });

  it('re-seals every secret under the new key, and the platform runs on the new key alone', async () => {
    const before = await sealedValues();
    expect(before.map((value) => value.ad)).toEqual([
      expect.stringMatching(/^signing_key:/),
      `payment-gateway:${admin.tenant.id}:stripe`,
      expect.stringMatching(/^refresh:/),
    ]);
    const newOnly = new SecretBox(Buffer.from(currentKey, 'base64'));
    for (const value of before) expect(() => newOnly.open(value.sealed, value.ad)).toThrow();

    const lines: string[] = [];
    const out: CliOutput = { log: (line) => lines.push(line), error: (line) => lines.push(line) };
    const rotating = configWith({ MASTER_KEY: currentKey, MASTER_KEY_PREVIOUS: oldKey });
    expect(await runCli(['reseal-secrets'], rotating, out)).toBe(0);
    expect(lines).toEqual([
      'resealed 1 signing keys, 1 gateway accounts and 1 refresh successors under the current master key',
    ]);
    // Nothing is left under the old key: a second run moves nothing.
    expect(await runCli(['reseal-secrets'], rotating, out)).toBe(0);
    expect(lines[1]).toMatch(/^resealed 0 signing keys, 0 gateway accounts and 0 refresh successors/);

    const after = await sealedValues();
    expect(JSON.parse(newOnly.open(after[1]!.sealed, after[1]!.ad))).toEqual({
      secret_key: 'sk_test_rotation',
      webhook_secret: 'whsec_rotation',
    });
    const oldOnly = new SecretBox(Buffer.from(oldKey, 'base64'));
    for (const value of after) expect(() => oldOnly.open(value.sealed, value.ad)).toThrow();

    // A process that knows only the new key signs tokens and answers a refresh retry.
    const config = configWith({ MASTER_KEY: currentKey, REFRESH_REUSE_GRACE_SECONDS: '300' });
    const platform = await createPlatform(config, pino({ level: 'silent' }));
    const app = await buildApp(config, { platform, modules: createModules(platform) });
    try {
      await app.ready();
      const signedIn = await login(app, admin.user.email, admin.password);
      expect((await app.inject({ url: '/auth/me', headers: signedIn.auth })).statusCode).toBe(200);
      const retry = await app.inject({
        method: 'POST',
        url: '/auth/refresh',
        payload: { refresh_token: spentRefreshToken },
      });
      expect(retry.statusCode).toBe(200);
      expect(retry.json<{ refresh_token: string }>().refresh_token).toBe(successor);
    } finally {
      await app.close();
      await platform.close();
    }
  });

  it('refuses to run when a value opens under no key it was given', async () => {
    const out: CliOutput = { log: () => undefined, error: () => undefined };
    await expect(runCli(['reseal-secrets'], configWith({ MASTER_KEY: newKey() }), out)).rejects.toThrow(
      'does not open under any master key',
    );
  });
});

/** The environment the test app was configured from, as strings for loadConfig. */
function envOf(t: TestApp): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DATA_DIR: t.config.DATA_DIR,
    DATABASE_URL: t.config.DATABASE_URL!,
  };
}
