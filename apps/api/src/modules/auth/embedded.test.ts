import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { decodeProtectedHeader } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app';
import { bearer, login, registerTenant, type TestTenant } from '../../../test/support/auth';
import { loadConfig } from '../../platform/config';
import { createPlatform, type Platform } from '../../platform/platform';
import { createModules } from '..';

interface Embedded {
  app: FastifyInstance;
  platform: Platform;
  close(): Promise<void>;
}

/**
 * The whole API as the embedded default starts it: no DATABASE_URL (PGlite in DATA_DIR), no
 * REDIS_URL (limits, revocations and events in-process), no MASTER_KEY (kept in DATA_DIR).
 */
async function startEmbedded(dataDir: string): Promise<Embedded> {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: dataDir });
  const platform = await createPlatform(config, pino({ level: 'silent' }));
  const app = await buildApp(config, { platform, modules: createModules(platform) });
  await app.ready();
  return {
    app,
    platform,
    async close() {
      await app.close();
      await platform.close();
    },
  };
}

describe('auth on the embedded default (PGlite, no Redis)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-auth-embedded-'));
  let embedded: Embedded | undefined;
  const app = () => embedded!.app;
  const me = (accessToken: string) => app().inject({ url: '/auth/me', headers: bearer(accessToken) });
  const refresh = (token: string) =>
    app().inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: token } });

  beforeAll(async () => {
    // The first start creates the database (initdb and migrations): seconds, not milliseconds.
    embedded = await startEmbedded(dataDir);
  }, 120_000);

  afterAll(async () => {
    await embedded?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('registers, signs in, answers /auth/me; a logout is refused at once in-process, and its refresh token', async () => {
    expect(embedded!.platform.database.kind).toBe('pglite');
    expect(embedded!.platform.redis).toBeNull();
    expect(fs.existsSync(path.join(dataDir, 'pglite', 'PG_VERSION'))).toBe(true);

    const admin = await registerTenant(app());
    const session = await login(app(), admin.user.email);
    expect(session.user.session_id).not.toBe(admin.user.session_id);
    const answer = await me(session.accessToken);
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({
      id: admin.user.id,
      email: admin.user.email,
      tenant_id: admin.tenant.id,
      roles: ['admin', 'user'],
      session_id: session.user.session_id,
    });

    // Rotation works on PGlite too; the session's tokens before and after it end together.
    const rotated = await refresh(session.refreshToken);
    expect(rotated.statusCode).toBe(200);
    const pair = rotated.json<{ access_token: string; refresh_token: string }>();
    expect(pair.refresh_token).not.toBe(session.refreshToken);

    const out = await app().inject({
      method: 'POST',
      url: '/auth/logout',
      headers: bearer(pair.access_token),
    });
    expect(out.statusCode).toBe(204);
    for (const accessToken of [pair.access_token, session.accessToken]) {
      const refused = await me(accessToken);
      expect(refused.statusCode).toBe(401);
      expect(refused.json().code).toBe('unauthenticated');
    }
    const refusedRefresh = await refresh(pair.refresh_token);
    expect(refusedRefresh.statusCode).toBe(401);
    expect(refusedRefresh.json().code).toBe('unauthenticated');
    // The user's other session goes on.
    expect((await me(admin.accessToken)).statusCode).toBe(200);

    const events = await embedded!.platform.db
      .selectFrom('outbox_events')
      .select('type')
      .where('tenant_id', '=', admin.tenant.id)
      .orderBy('seq')
      .execute();
    expect(events.map((event) => event.type)).toEqual(['auth.user.created', 'auth.user.login']);
  });

  it('reuses the signing key generated on first start after a restart on the same data directory, and remembers logouts', async () => {
    const admin: TestTenant = await registerTenant(app());
    const loggedOut = await login(app(), admin.user.email);
    expect(
      (await app().inject({ method: 'POST', url: '/auth/logout', headers: bearer(loggedOut.accessToken) }))
        .statusCode,
    ).toBe(204);
    const kid = decodeProtectedHeader(admin.accessToken).kid;
    const keysBefore = await embedded!.platform.db.selectFrom('signing_keys').select('kid').execute();
    expect(keysBefore.map((key) => key.kid)).toEqual([kid]);
    expect(fs.existsSync(path.join(dataDir, 'master.key'))).toBe(true);

    await embedded!.close();
    embedded = undefined;
    embedded = await startEmbedded(dataDir);

    const keysAfter = await embedded.platform.db.selectFrom('signing_keys').select('kid').execute();
    expect(keysAfter).toEqual(keysBefore);
    const jwks = await app().inject('/.well-known/jwks.json');
    expect(jwks.json().keys.map((key: { kid: string }) => key.kid)).toEqual([kid]);
    // A token signed before the restart still verifies; a new one is signed with the same key.
    expect((await me(admin.accessToken)).statusCode).toBe(200);
    // The in-process revocation list started empty, and was refilled from the sessions table.
    expect((await me(loggedOut.accessToken)).statusCode).toBe(401);
    const fresh = await login(app(), admin.user.email);
    expect(decodeProtectedHeader(fresh.accessToken).kid).toBe(kid);
    // The session and its refresh token were on disk.
    const refreshed = await refresh(admin.refreshToken);
    expect(refreshed.statusCode).toBe(200);
    expect(refreshed.json().user.session_id).toBe(admin.user.session_id);
  });
});
