import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeStripe } from '../../../test/gateways/stripe-server';
import { createTestApp, type TestApp } from '../../../test/support/app';
import { addMember, registerTenant, type TestTenant, type TestUser } from '../../../test/support/auth';
import { serviceAvailable } from '../../../test/support/services';
import type { Payment, Refund } from './schemas';

/**
 * Declining a refund request (POST /commerce/refunds/:id/decline): a pending request never sent to
 * the gateway fails as `declined`, and its amount can be refunded again; anything sent is the
 * gateway's to settle.
 */
describe.runIf(await serviceAvailable('postgres'))('declining a refund request', () => {
  const stripe = new FakeStripe();
  let testApp: TestApp;
  let admin: TestTenant;
  let manager: TestUser;
  let staff: TestUser;

  beforeAll(async () => {
    testApp = await createTestApp({
      env: {
        STRIPE_API_BASE: await stripe.start(),
        STRIPE_SECRET_KEY: stripe.secretKey,
        STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
        GATEWAY_TIMEOUT_MS: '400',
      },
    });
    admin = await registerTenant(testApp);
    manager = await addMember(testApp, admin, ['manager']);
    staff = await addMember(testApp, admin, ['staff']);
  });

  afterAll(async () => {
    await testApp?.close();
    await stripe.close();
  });

  const inject = (
    who: { auth: Record<string, string> },
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    payload?: object,
    headers: Record<string, string> = {},
  ) =>
    testApp.app.inject({
      method,
      url,
      headers: { ...who.auth, ...headers },
      ...(payload ? { payload } : {}),
    });

  /** A paid order: `amount` of EUR taken by `gateway` (cash, or a Stripe card). */
  async function paidOrder(amount: number, gateway: 'manual' | 'stripe' = 'manual'): Promise<Payment> {
    const product = await inject(admin, 'POST', '/commerce/products', {
      sku: `SKU-${randomBytes(4).toString('hex')}`,
      name: 'Lamp',
      price: amount,
      currency: 'EUR',
    });
    const productId = product.json<{ id: string }>().id;
    await inject(admin, 'PUT', `/commerce/inventory/${productId}`, { on_hand: 10 });
    const order = (
      await inject(admin, 'POST', '/commerce/orders', { lines: [{ product_id: productId, quantity: 1 }] })
    ).json<{ id: string }>();
    let methodId: string | undefined;
    if (gateway === 'stripe') {
      const method = await inject(admin, 'POST', '/commerce/payment-methods', {
        gateway: 'stripe',
        type: 'card',
        gateway_token: 'pm_card_visa',
      });
      methodId = method.json<{ id: string }>().id;
    }
    const paid = await inject(admin, 'POST', '/commerce/payments', {
      order_id: order.id,
      amount,
      currency: 'EUR',
      gateway,
      ...(methodId ? { payment_method_id: methodId } : {}),
    });
    expect(paid.statusCode, paid.body).toBe(201);
    expect(paid.json<Payment>().status).toBe('completed');
    return paid.json<Payment>();
  }

  const requestRefund = async (payment: Payment, amount: number, reason?: string) => {
    const created = await inject(staff, 'POST', '/commerce/refunds', {
      payment_id: payment.id,
      amount,
      ...(reason ? { reason } : {}),
    });
    expect(created.statusCode, created.body).toBe(201);
    return created.json<Refund>();
  };

  const decline = (
    refund: Refund,
    body?: object,
    who: { auth: Record<string, string> } = manager,
    key?: string,
  ) =>
    inject(
      who,
      'POST',
      `/commerce/refunds/${refund.id}/decline`,
      body,
      key ? { 'idempotency-key': key } : {},
    );

  const refundNow = async (refund: Refund) =>
    (await inject(admin, 'GET', `/commerce/refunds?payment_id=${refund.payment_id}`))
      .json<{ data: Refund[] }>()
      .data.find((listed) => listed.id === refund.id)!;

  /** Stripe's refund creations for `refund`, as Stripe received them. */
  const sentToStripe = (refund: Refund) =>
    stripe.server.callsTo('POST', /^\/v1\/refunds$/).filter((call) => call.body.includes(refund.id));

  it('fails a pending request as declined, with its reason, and releases its amount', async () => {
    const payment = await paidOrder(2000);
    const refund = await requestRefund(payment, 2000, 'Customer changed their mind');
    // The request holds the whole payment: nothing more can be requested.
    const more = await inject(staff, 'POST', '/commerce/refunds', { payment_id: payment.id, amount: 1 });
    expect(more.json()).toMatchObject({ code: 'refund_exceeds_captured', refundable: 0 });

    const declined = await decline(refund, { reason: 'Duplicate of an earlier request' });
    expect(declined.statusCode, declined.body).toBe(200);
    expect(declined.json<Refund>()).toMatchObject({
      id: refund.id,
      status: 'failed',
      failure_code: 'declined',
      failure_message: 'Duplicate of an earlier request',
      reason: 'Customer changed their mind',
      processed_at: null,
      gateway_reference: null,
    });
    expect(await refundNow(refund)).toMatchObject({ status: 'failed', failure_code: 'declined' });
    // Nothing was refunded, and nothing went to a gateway.
    expect((await inject(admin, 'GET', `/commerce/payments/${payment.id}`)).json()).toMatchObject({
      status: 'completed',
      amount_refunded: 0,
      transactions: [{ kind: 'charge' }],
    });
    // A failed refund's event, as a refund the gateway refused makes.
    const { rows } = await sql<{ status: string; reason: string }>`
      select payload->'data'->>'status' as status, payload->'data'->>'reason' as reason from outbox_events
      where type = 'refund.processed' and payload->'data'->>'refund_id' = ${refund.id}`.execute(
      testApp.platform.db,
    );
    expect(rows).toEqual([{ status: 'failed', reason: 'Customer changed their mind' }]);

    // The amount it held can be requested again, and refunded.
    const again = await requestRefund(payment, 2000);
    const processed = await inject(manager, 'POST', `/commerce/refunds/${again.id}/process`);
    expect(processed.json<Refund>().status).toBe('processed');
    await testApp.flushEvents();
    expect((await inject(admin, 'GET', `/commerce/payments/${payment.id}`)).json()).toMatchObject({
      status: 'refunded',
      amount_refunded: 2000,
    });
  });

  it("keeps the request's reason, and gives none of its own when none is given", async () => {
    const refund = await requestRefund(await paidOrder(1500), 500, 'Scratched');
    const declined = await decline(refund);
    expect(declined.statusCode, declined.body).toBe(200);
    expect(declined.json<Refund>()).toMatchObject({
      failure_code: 'declined',
      failure_message: null,
      reason: 'Scratched',
    });
    const blank = await decline(await requestRefund(await paidOrder(1500), 500, 'Dented'), { reason: '  ' });
    expect(blank.json<Refund>()).toMatchObject({
      failure_code: 'declined',
      failure_message: null,
      reason: 'Dented',
    });
  });

  it("keeps the gateway's words when it refuses a refund, beside the request's reason", async () => {
    const payment = await paidOrder(2000, 'stripe');
    const refund = await requestRefund(payment, 2000, 'Broken on arrival');
    // Refunded in Stripe's dashboard meanwhile, of which no webhook came: Stripe refuses ours.
    const there = await fetch(`${testApp.config.STRIPE_API_BASE}/v1/refunds`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${stripe.secretKey}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ payment_intent: payment.gateway_reference! }),
    });
    expect(there.status).toBe(200);
    const processed = await inject(manager, 'POST', `/commerce/refunds/${refund.id}/process`);
    expect(processed.json<Refund>()).toMatchObject({
      status: 'failed',
      failure_code: 'charge_already_refunded',
      failure_message: 'Refund amount is greater than unrefunded amount on charge',
      reason: 'Broken on arrival',
    });
  });

  it('needs write:refunds: a staff member cannot decline', async () => {
    const refund = await requestRefund(await paidOrder(1000), 1000);
    const byStaff = await decline(refund, { reason: 'no' }, staff);
    expect(byStaff.statusCode).toBe(403);
    expect(byStaff.json()).toMatchObject({ code: 'forbidden' });
    expect(await refundNow(refund)).toMatchObject({ status: 'pending', failure_code: null });
  });

  it('refuses a refund processed already, or failed, with 409', async () => {
    const payment = await paidOrder(3000);
    const processed = await requestRefund(payment, 1000);
    await inject(manager, 'POST', `/commerce/refunds/${processed.id}/process`);
    const refused = await decline(processed);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'invalid_state_transition', refund_status: 'processed' });
    expect(await refundNow(processed)).toMatchObject({ status: 'processed', failure_code: null });

    const declined = await requestRefund(payment, 1000);
    expect((await decline(declined)).statusCode).toBe(200);
    const twice = await decline(declined, { reason: 'again' });
    expect(twice.statusCode).toBe(409);
    expect(twice.json()).toMatchObject({ code: 'invalid_state_transition', refund_status: 'failed' });
    expect(await refundNow(declined)).toMatchObject({ reason: null });
  });

  it('refuses a refund being sent to the gateway with 409: the gateway refunds it all the same', async () => {
    const payment = await paidOrder(3000, 'stripe');
    const inFlight = await requestRefund(payment, 1000);
    let meanwhile: Awaited<ReturnType<typeof decline>> | undefined;
    stripe.server.beforeAnswering(/^POST \/v1\/refunds$/, async () => {
      meanwhile = await decline(inFlight, { reason: 'too late' });
    });
    const processed = await inject(manager, 'POST', `/commerce/refunds/${inFlight.id}/process`);
    expect(meanwhile!.statusCode).toBe(409);
    expect(meanwhile!.json()).toMatchObject({ code: 'invalid_state_transition', sent_to_gateway: true });
    expect(processed.json<Refund>()).toMatchObject({ status: 'processed', failure_code: null });
    expect(sentToStripe(inFlight)).toHaveLength(1);
  });

  it('refuses a refund whose sending has no known outcome with 409, and a retry settles it', async () => {
    const payment = await paidOrder(3000, 'stripe');
    // Stripe took it and never answered: it may have refunded it.
    const unknown = await requestRefund(payment, 500);
    stripe.server.hangNext(1, /^POST \/v1\/refunds$/);
    expect((await inject(manager, 'POST', `/commerce/refunds/${unknown.id}/process`)).json()).toMatchObject({
      status: 'pending',
    });
    const refused = await decline(unknown);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'invalid_state_transition', sent_to_gateway: true });
    expect(await refundNow(unknown)).toMatchObject({ status: 'pending', failure_code: null });
    const settled = await inject(manager, 'POST', `/commerce/refunds/${unknown.id}/process`);
    expect(settled.json<Refund>().status).toBe('processed');
    expect(sentToStripe(unknown).map((call) => call.idempotencyKey)).toEqual([
      `refund:${unknown.id}`,
      `refund:${unknown.id}`,
    ]);
    expect((await inject(admin, 'GET', `/commerce/payments/${payment.id}`)).json()).toMatchObject({
      amount_refunded: 500,
    });
  });

  it('replays a decline retried with its Idempotency-Key; another body under it is 422', async () => {
    const refund = await requestRefund(await paidOrder(1200), 1200);
    const key = `decline-${randomBytes(6).toString('hex')}`;
    const first = await decline(refund, { reason: 'Wrong order' }, manager, key);
    expect(first.statusCode, first.body).toBe(200);
    const replayed = await decline(refund, { reason: 'Wrong order' }, manager, key);
    expect(replayed.statusCode).toBe(200);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.json()).toEqual(first.json());
    expect((await decline(refund, { reason: 'Other' }, manager, key)).statusCode).toBe(422);
    const withoutKey = await decline(refund, { reason: 'Wrong order' });
    expect(withoutKey.statusCode).toBe(409);
    expect(withoutKey.json()).toMatchObject({ code: 'invalid_state_transition' });
  });

  it("never declines another business's refund: 404", async () => {
    const refund = await requestRefund(await paidOrder(800), 800);
    const stranger = await registerTenant(testApp);
    const answer = await decline(refund, undefined, stranger);
    expect(answer.statusCode).toBe(404);
    expect(await refundNow(refund)).toMatchObject({ status: 'pending' });
  });
});
