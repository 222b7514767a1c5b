import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app';
import { addMember, registerTenant, type TestTenant, type TestUser } from '../../../test/support/auth';
import { serviceAvailable } from '../../../test/support/services';
import type { GatewaySettingsView } from './schemas';

/**
 * A business's own gateway accounts (Settings): credentials whose format the gateway defines are
 * checked before they are stored, and an account can be removed again.
 */
describe.runIf(await serviceAvailable('postgres'))('gateway accounts', () => {
  let testApp: TestApp;
  let admin: TestTenant;
  let staff: TestUser;

  beforeAll(async () => {
    testApp = await createTestApp();
    admin = await registerTenant(testApp);
    staff = await addMember(testApp, admin, ['manager']);
  });

  afterAll(async () => {
    await testApp?.close();
  });

  const inject = (
    who: { auth: Record<string, string> },
    method: 'GET' | 'PUT' | 'DELETE',
    url: string,
    payload?: object,
  ) => testApp.app.inject({ method, url, headers: who.auth, ...(payload ? { payload } : {}) });

  const account = async (gateway: string) =>
    (await inject(admin, 'GET', '/tenants/current/gateways'))
      .json<{ data: GatewaySettingsView[] }>()
      .data.find((entry) => entry.gateway === gateway)!;

  it("refuses Stripe keys that are not in Stripe's format, naming the field, and stores nothing", async () => {
    for (const [body, path] of [
      [{ secret_key: 'not-a-key' }, 'secret_key'],
      [{ secret_key: 'pk_test_publishable' }, 'secret_key'],
      [{ secret_key: 'sk_test_ with a space' }, 'secret_key'],
      [{ secret_key: 'sk_prod_abc' }, 'secret_key'],
      [{ secret_key: 'sk_test_abc', webhook_secret: 'not-a-secret' }, 'webhook_secret'],
    ] as const) {
      const refused = await inject(admin, 'PUT', '/tenants/current/gateways/stripe', body);
      expect(refused.statusCode, JSON.stringify(body)).toBe(400);
      expect(refused.json()).toMatchObject({
        code: 'validation_failed',
        errors: [{ path, message: expect.stringContaining('Stripe') }],
      });
    }
    expect(await account('stripe')).toMatchObject({ configured: false, source: null });

    for (const secretKey of ['sk_live_51Habc', 'rk_test_restricted', 'rk_live_x', 'sk_test_abc']) {
      const saved = await inject(admin, 'PUT', '/tenants/current/gateways/stripe', {
        secret_key: secretKey,
        webhook_secret: 'whsec_abc123',
      });
      expect(saved.statusCode, secretKey).toBe(200);
    }
  });

  it("takes Square's and PayPal's credentials as they come: their formats are not promised", async () => {
    const square = await inject(admin, 'PUT', '/tenants/current/gateways/square', {
      access_token: 'EAAAl-any-token',
      location_id: 'L1',
      webhook_signature_key: 'any signature key',
    });
    expect(square.statusCode, square.body).toBe(200);
    const paypal = await inject(admin, 'PUT', '/tenants/current/gateways/paypal', {
      client_id: 'client',
      client_secret: 'secret',
      webhook_id: 'WH-1',
    });
    expect(paypal.statusCode, paypal.body).toBe(200);
  });

  it('keeps the stored secrets a save leaves out, as the form says, and still needs a required one', async () => {
    const tenant = await registerTenant(testApp);
    const put = (body: object) => inject(tenant, 'PUT', '/tenants/current/gateways/square', body);
    expect((await put({ location_id: 'L1' })).json()).toMatchObject({
      code: 'validation_failed',
      errors: [{ path: 'access_token', message: 'is required' }],
    });
    expect(
      (await put({ access_token: 'token-1', webhook_signature_key: 'key-1', location_id: 'L1' })).statusCode,
    ).toBe(200);
    // Settings re-saved with a new device, the secrets left out: both stay.
    const resaved = await put({ location_id: 'L2', device_id: 'D1' });
    expect(resaved.statusCode, resaved.body).toBe(200);
    expect(resaved.json()).toMatchObject({
      settings: { location_id: 'L2', device_id: 'D1' },
      secrets_set: ['access_token', 'webhook_signature_key'],
    });
    const replaced = await put({ access_token: 'token-2', location_id: 'L2' });
    expect(replaced.json()).toMatchObject({ secrets_set: ['access_token', 'webhook_signature_key'] });
  });

  it("removes a gateway's account for administrators only, leaving the others as they are", async () => {
    const saved = await inject(admin, 'PUT', '/tenants/current/gateways/stripe', {
      secret_key: 'sk_test_abc',
      webhook_secret: 'whsec_abc',
    });
    expect(saved.statusCode).toBe(200);
    const square = await account('square');

    const refused = await inject(staff, 'DELETE', '/tenants/current/gateways/stripe');
    expect(refused.statusCode).toBe(403);
    expect(await account('stripe')).toMatchObject({ configured: true, source: 'tenant' });

    const removed = await inject(admin, 'DELETE', '/tenants/current/gateways/stripe');
    expect(removed.statusCode, removed.body).toBe(204);
    expect(await account('stripe')).toEqual({
      gateway: 'stripe',
      configured: false,
      source: null,
      settings: {},
      secrets_set: [],
      updated_at: null,
    });
    expect(await account('square')).toEqual(square);

    const again = await inject(admin, 'DELETE', '/tenants/current/gateways/stripe');
    expect(again.statusCode).toBe(404);
    expect(again.json()).toMatchObject({ code: 'not_found' });
    const manual = await inject(admin, 'DELETE', '/tenants/current/gateways/manual');
    expect(manual.statusCode).toBe(400);
    expect(manual.json()).toMatchObject({ code: 'validation_failed' });
  });
});
