import { randomBytes } from 'node:crypto';
import { uuidv7 } from '@tessera/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app';
import {
  bearer,
  registerTenant,
  TEST_PASSWORD,
  tokenInLink,
  uniqueEmail,
  type TestTenant,
} from '../../../test/support/auth';
import { serviceAvailable } from '../../../test/support/services';
import { startSmtpServer, type TestSmtpServer } from '../../../test/support/smtp';
import { withTenant } from '../../platform/db/tenant';

const postgresUp = await serviceAvailable('postgres');

describe.runIf(postgresUp)('receipts over SMTP', () => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  let admin: TestTenant;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await createTestApp({ env: { SMTP_URL: smtp.url } });
    admin = await registerTenant(t, { tenant_name: 'Corner Shop & Café' });
    const zone = await t.app.inject({
      method: 'PATCH',
      url: '/tenants/current',
      headers: admin.auth,
      payload: { time_zone: 'Asia/Kathmandu' },
    });
    expect(zone.statusCode).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  const inject = (
    who: { auth: Record<string, string> },
    method: 'GET' | 'POST',
    url: string,
    payload?: object,
  ) => t.app.inject({ method, url, headers: who.auth, ...(payload ? { payload } : {}) });

  /** An order of two mugs at 12.50 EUR, for `customer_email` if given. */
  async function placeOrder(
    customerEmail?: string,
  ): Promise<{ id: string; number: number; created_at: string }> {
    const product = await inject(admin, 'POST', '/commerce/products', {
      sku: `MUG-${randomBytes(3).toString('hex')}`,
      name: 'Mug <large>',
      price: 1250,
      currency: 'EUR',
    });
    const productId = product.json<{ id: string }>().id;
    await inject(admin, 'POST', `/commerce/inventory/${productId}/adjustments`, {
      delta: 10,
      reason: 'Delivery',
    });
    const order = await inject(admin, 'POST', '/commerce/orders', {
      lines: [{ product_id: productId, quantity: 2 }],
      ...(customerEmail ? { customer_email: customerEmail } : {}),
    });
    expect(order.statusCode, order.body).toBe(201);
    return order.json();
  }
  const payCash = async (orderId: string, amount: number) => {
    const paid = await inject(admin, 'POST', '/commerce/payments', {
      order_id: orderId,
      amount,
      currency: 'EUR',
      gateway: 'manual',
    });
    expect(paid.statusCode, paid.body).toBe(201);
    await t.flushEvents();
  };

  it("mails the receipt to the order's customer once the order is paid, in the business's time zone", async () => {
    const customer = uniqueEmail('customer');
    const order = await placeOrder(customer);
    await payCash(order.id, 2500);
    const mail = await smtp.waitFor(customer);
    expect(mail.subject).toBe(`Your receipt from Corner Shop & Café: order #${order.number}`);
    const when = new Intl.DateTimeFormat('en', {
      dateStyle: 'medium',
      timeStyle: 'short',
      timeZone: 'Asia/Kathmandu',
    }).format(new Date(order.created_at));
    expect(mail.text).toContain(`Order #${order.number}, ${when}`);
    expect(mail.text).toContain('2 × Mug <large>');
    expect(mail.text).toContain('Total: €25.00');
    expect(mail.text).toContain('Paid: €25.00');
    // The HTML part escapes what the merchant typed.
    expect(mail.html).toContain('Mug &#60;large&#62;');
    expect(mail.html).toContain('Corner Shop &#38; Café');
    expect(smtp.to(customer)).toHaveLength(1);
  });

  it('sends it again on request, to another address; refuses an unpaid order and one with no address', async () => {
    const customer = uniqueEmail('again');
    const order = await placeOrder(customer);
    const early = await inject(admin, 'POST', `/commerce/orders/${order.id}/receipt`, {});
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({ code: 'invalid_state_transition' });
    await payCash(order.id, 2500);
    await smtp.waitFor(customer);

    const other = uniqueEmail('accountant');
    const resent = await inject(admin, 'POST', `/commerce/orders/${order.id}/receipt`, { email: other });
    expect(resent.statusCode).toBe(202);
    expect(resent.json()).toEqual({ sent_to: other });
    expect((await smtp.waitFor(other)).text).toContain(`Order #${order.number}`);
    const toCustomer = await inject(admin, 'POST', `/commerce/orders/${order.id}/receipt`, {});
    expect(toCustomer.json()).toEqual({ sent_to: customer });
    await expect.poll(() => smtp.to(customer).length).toBe(2);

    const anonymous = await placeOrder();
    await payCash(anonymous.id, 2500);
    const nowhere = await inject(admin, 'POST', `/commerce/orders/${anonymous.id}/receipt`, {});
    expect(nowhere.statusCode).toBe(400);
    expect(nowhere.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: 'email' }] });
    const invalid = await inject(admin, 'POST', `/commerce/orders/${anonymous.id}/receipt`, {
      email: 'not-an-address',
    });
    expect(invalid.statusCode).toBe(400);
  });

  it('passes over an order paid that is not stored here, instead of failing its delivery forever', async () => {
    const consumer = t.modules.list.find((module) => module.name === 'receipts')!.consumers![0]!;
    const event = {
      id: uuidv7(),
      type: 'commerce.order.status_changed' as const,
      tenant_id: admin.tenant.id,
      occurred_at: new Date().toISOString(),
      version: 1,
      actor: { type: 'system' as const, id: null },
      data: {
        order_id: uuidv7(),
        number: 999,
        from: 'pending' as const,
        to: 'paid' as const,
        payment_status: 'paid' as const,
        total: 100,
        currency: 'EUR',
      },
    };
    expect(consumer.accepts?.(event)).toBe(true);
    await expect(
      withTenant(t.platform.db, admin.tenant.id, (tx) => consumer.handle(event, tx)),
    ).resolves.toBe(undefined);
  });

  it('answers 502 when the mail server refuses it, 404 for another tenant, 403 without write:orders', async () => {
    const order = await placeOrder();
    await payCash(order.id, 2500);
    const refused = uniqueEmail('refused');
    smtp.refused.add(refused.toLowerCase());
    const failed = await inject(admin, 'POST', `/commerce/orders/${order.id}/receipt`, { email: refused });
    expect(failed.statusCode).toBe(502);
    expect(failed.json()).toMatchObject({ code: 'mail_error' });

    const other = await registerTenant(t);
    const foreign = await inject(other, 'POST', `/commerce/orders/${order.id}/receipt`, {
      email: uniqueEmail('x'),
    });
    expect(foreign.statusCode).toBe(404);
    // A member with the user role only, invited by mail.
    const readerEmail = uniqueEmail('reader');
    await inject(admin, 'POST', '/tenants/current/invitations', { email: readerEmail, roles: ['user'] });
    const token = tokenInLink((await smtp.waitFor(readerEmail)).text, '/accept-invitation')!;
    const joined = await t.app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email: readerEmail, password: TEST_PASSWORD, name: 'Reader', invitation_token: token },
    });
    expect(joined.statusCode, joined.body).toBe(201);
    const reader = { auth: bearer(joined.json<{ access_token: string }>().access_token) };
    const forbidden = await inject(reader, 'POST', `/commerce/orders/${order.id}/receipt`, {
      email: uniqueEmail('y'),
    });
    expect(forbidden.statusCode).toBe(403);
  });
});
