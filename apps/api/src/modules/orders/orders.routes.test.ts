import { uuidv7 } from '@tessera/contracts';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app';
import { addMember, registerTenant, type TestTenant, type TestUser } from '../../../test/support/auth';
import { markPaid } from '../../../test/support/payments';
import { holdRows, lockWaiters, until } from '../../../test/support/locks';
import { serviceAvailable } from '../../../test/support/services';
import { withTenant } from '../../platform/db/tenant';

const postgresUp = await serviceAvailable('postgres');

describe.runIf(postgresUp)('orders routes', () => {
  let testApp: TestApp;
  let admin: TestTenant;
  let staff: TestUser;
  let stranger: TestTenant;
  let sku = 0;

  type Who = { auth: Record<string, string> };
  const call = (
    who: Who,
    method: 'GET' | 'POST' | 'PUT' | 'PATCH',
    url: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ) =>
    testApp.app.inject({
      method,
      url,
      headers: { ...who.auth, ...headers },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  async function product(stock: number, price = 1000, who: Who = admin) {
    const created = (
      await call(who, 'POST', '/commerce/products', {
        sku: `ORD-${++sku}`,
        name: `Thing ${sku}`,
        price,
        currency: 'EUR',
      })
    ).json<{ id: string; sku: string; name: string }>();
    if (stock) await call(who, 'PUT', `/commerce/inventory/${created.id}`, { on_hand: stock });
    return created;
  }

  const level = async (productId: string, who: Who = admin) =>
    (await call(who, 'GET', `/commerce/inventory/${productId}`)).json<Record<string, number>>();

  type Movement = {
    kind: string;
    delta_on_hand: number;
    delta_reserved: number;
    on_hand_after: number;
    reserved_after: number;
    order_id: string | null;
  };
  /** The product's stock ledger, newest first: kind, deltas, levels after, order. */
  const movements = async (productId: string, who: Who = admin) =>
    (await call(who, 'GET', `/commerce/inventory/${productId}/adjustments`))
      .json<{ data: Movement[] }>()
      .data.map((m) => [
        m.kind,
        m.delta_on_hand,
        m.delta_reserved,
        m.on_hand_after,
        m.reserved_after,
        m.order_id,
      ]);

  /** The state of one of the tenant's idempotency keys, whatever its route. */
  const keyState = async (tenantId: string, key: string) =>
    (
      await withTenant(testApp.platform.db, tenantId, (tx) =>
        tx.selectFrom('idempotency_keys').select('state').where('key', '=', key).executeTakeFirst(),
      )
    )?.state;

  beforeAll(async () => {
    testApp = await createTestApp();
    admin = await registerTenant(testApp);
    staff = await addMember(testApp, admin, ['staff']);
    stranger = await registerTenant(testApp);
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('places an order: 201 with lines, totals and a per-tenant number; stock reserved', async () => {
    const mug = await product(5, 1299);
    const tea = await product(5, 350);
    const answer = await call(staff, 'POST', '/commerce/orders', {
      lines: [
        { product_id: mug.id, quantity: 2 },
        { product_id: tea.id, quantity: 3 },
      ],
      customer_email: 'buyer@example.test',
      note: 'gift wrap',
    });
    expect(answer.statusCode).toBe(201);
    const order = answer.json();
    expect(order).toEqual({
      id: expect.any(String),
      number: expect.any(Number),
      status: 'pending',
      payment_status: 'unpaid',
      currency: 'EUR',
      lines: [
        { product_id: mug.id, sku: mug.sku, name: mug.name, quantity: 2, unit_price: 1299, line_total: 2598 },
        { product_id: tea.id, sku: tea.sku, name: tea.name, quantity: 3, unit_price: 350, line_total: 1050 },
      ],
      subtotal: 3648,
      total: 3648,
      amount_paid: 0,
      amount_refunded: 0,
      customer_email: 'buyer@example.test',
      note: 'gift wrap',
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(await level(mug.id)).toMatchObject({ on_hand: 5, reserved: 2, available: 3 });
    expect((await call(admin, 'GET', `/commerce/orders/${order.id}`)).json()).toEqual(order);

    const { rows } = await sql<{ data: { order_id: string; total: number; lines: unknown[] } }>`
      select payload->'data' as data from outbox_events where type = 'commerce.order.created' and payload->'data'->>'order_id' = ${order.id}`.execute(
      testApp.platform.db,
    );
    expect(rows[0]!.data).toMatchObject({
      order_id: order.id,
      number: order.number,
      total: 3648,
      lines: order.lines,
    });

    // Numbers are per tenant: another tenant starts at 1.
    const theirs = await product(1, 100, stranger);
    expect(
      (
        await call(stranger, 'POST', '/commerce/orders', { lines: [{ product_id: theirs.id, quantity: 1 }] })
      ).json(),
    ).toMatchObject({
      number: 1,
    });
  });

  it('60 concurrent single-unit orders against stock 20: exactly 20 × 201 and 40 × 409, nothing oversold', async () => {
    const item = await product(20);
    const answers = await Promise.all(
      Array.from({ length: 60 }, () =>
        call(staff, 'POST', '/commerce/orders', { lines: [{ product_id: item.id, quantity: 1 }] }),
      ),
    );
    const statuses = answers.map((answer) => answer.statusCode);
    expect(statuses.filter((status) => status === 201)).toHaveLength(20);
    expect(statuses.filter((status) => status === 409)).toHaveLength(40);
    for (const refused of answers.filter((answer) => answer.statusCode === 409)) {
      expect(refused.json()).toMatchObject({
        code: 'insufficient_stock',
        lines: [{ product_id: item.id, requested: 1, available: 0 }],
      });
    }
    expect(await level(item.id)).toMatchObject({ on_hand: 20, reserved: 20, available: 0 });
  });

  it('an order with one short line is refused (409) and reserves nothing', async () => {
    const plenty = await product(10);
    const scarce = await product(1);
    const answer = await call(admin, 'POST', '/commerce/orders', {
      lines: [
        { product_id: plenty.id, quantity: 1 },
        { product_id: scarce.id, quantity: 2 },
      ],
    });
    expect(answer.statusCode).toBe(409);
    expect(answer.json()).toMatchObject({
      code: 'insufficient_stock',
      lines: [{ product_id: scarce.id, requested: 2, available: 1 }],
    });
    expect(await level(plenty.id)).toMatchObject({ reserved: 0 });
    expect(await level(scarce.id)).toMatchObject({ reserved: 0 });
  });

  it('validates order bodies', async () => {
    const item = await product(3);
    const jpy = (
      await call(admin, 'POST', '/commerce/products', {
        sku: `JPY-${++sku}`,
        name: 'Yen thing',
        price: 500,
        currency: 'JPY',
      })
    ).json();
    await call(admin, 'PUT', `/commerce/inventory/${jpy.id}`, { on_hand: 3 });
    for (const [body, code] of [
      [{ lines: [] }, 'validation_failed'],
      [{ lines: [{ product_id: item.id, quantity: 0 }] }, 'validation_failed'],
      [{ lines: [{ product_id: item.id }] }, 'validation_failed'],
      [{ lines: [{ product_id: 'nope', quantity: 1 }] }, 'validation_failed'],
      [{ lines: [{ product_id: uuidv7(), quantity: 1 }] }, 'validation_failed'],
      [
        {
          lines: [
            { product_id: item.id, quantity: 1 },
            { product_id: item.id, quantity: 1 },
          ],
        },
        'validation_failed',
      ],
      // The same product in capitals is the same product.
      [
        {
          lines: [
            { product_id: item.id, quantity: 1 },
            { product_id: item.id.toUpperCase(), quantity: 1 },
          ],
        },
        'validation_failed',
      ],
      [
        { lines: [{ product_id: item.id, quantity: 1 }], customer_email: 'not an email' },
        'validation_failed',
      ],
      [{ lines: [{ product_id: item.id, quantity: 1 }], tenant_id: uuidv7() }, 'validation_failed'],
      [
        {
          lines: [
            { product_id: item.id, quantity: 1 },
            { product_id: jpy.id, quantity: 1 },
          ],
        },
        'currency_mismatch',
      ],
    ] as const) {
      const answer = await call(admin, 'POST', '/commerce/orders', body);
      expect(answer.statusCode, JSON.stringify(body)).toBe(400);
      expect(answer.json()).toMatchObject({ code });
    }
    expect(await level(item.id)).toMatchObject({ reserved: 0 });
    // A product id in capitals names the product.
    const upper = await call(admin, 'POST', '/commerce/orders', {
      lines: [{ product_id: item.id.toUpperCase(), quantity: 1 }],
    });
    expect(upper.statusCode, upper.body).toBe(201);
    expect(upper.json().lines).toMatchObject([{ product_id: item.id, quantity: 1 }]);
    expect(await level(item.id)).toMatchObject({ reserved: 1 });
  });

  describe('Idempotency-Key', () => {
    it('replays the first answer for the same key and body, and refuses another body (422)', async () => {
      const item = await product(10);
      const body = { lines: [{ product_id: item.id, quantity: 2 }] };
      const first = await call(staff, 'POST', '/commerce/orders', body, { 'idempotency-key': 'checkout-1' });
      expect(first.statusCode).toBe(201);
      const replay = await call(staff, 'POST', '/commerce/orders', body, { 'idempotency-key': 'checkout-1' });
      expect(replay.statusCode).toBe(201);
      expect(replay.json()).toEqual(first.json());
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(await level(item.id)).toMatchObject({ reserved: 2 });

      const conflict = await call(
        staff,
        'POST',
        '/commerce/orders',
        { lines: [{ product_id: item.id, quantity: 3 }] },
        { 'idempotency-key': 'checkout-1' },
      );
      expect(conflict.statusCode).toBe(422);
      expect(conflict.json()).toMatchObject({ code: 'idempotency_conflict' });
      // Keys are the tenant's: the same key in another tenant is unrelated.
      const theirs = await product(1, 100, stranger);
      expect(
        (
          await call(
            stranger,
            'POST',
            '/commerce/orders',
            { lines: [{ product_id: theirs.id, quantity: 1 }] },
            { 'idempotency-key': 'checkout-1' },
          )
        ).statusCode,
      ).toBe(201);
    });

    it('runs a burst of identical requests once: the others are replays or 409 idempotency_in_progress', async () => {
      const item = await product(10);
      const body = { lines: [{ product_id: item.id, quantity: 1 }] };
      const answers = await Promise.all(
        Array.from({ length: 8 }, () =>
          call(staff, 'POST', '/commerce/orders', body, { 'idempotency-key': 'burst-1' }),
        ),
      );
      const created = answers.filter((answer) => answer.statusCode === 201);
      const busy = answers.filter((answer) => answer.statusCode === 409);
      expect(created.length + busy.length).toBe(8);
      expect(new Set(created.map((answer) => answer.json<{ id: string }>().id)).size).toBe(1);
      for (const answer of busy) expect(answer.json()).toMatchObject({ code: 'idempotency_in_progress' });
      expect(busy.length).toBeGreaterThan(0);
      expect(await level(item.id)).toMatchObject({ reserved: 1 });
    });

    it('replays a cancel', async () => {
      const item = await product(2);
      const order = (
        await call(admin, 'POST', '/commerce/orders', { lines: [{ product_id: item.id, quantity: 1 }] })
      ).json();
      const first = await call(admin, 'POST', `/commerce/orders/${order.id}/cancel`, undefined, {
        'idempotency-key': 'cancel-1',
      });
      expect(first.statusCode).toBe(200);
      const replay = await call(admin, 'POST', `/commerce/orders/${order.id}/cancel`, undefined, {
        'idempotency-key': 'cancel-1',
      });
      expect(replay.statusCode).toBe(200);
      expect(replay.json()).toEqual(first.json());
      // Without the key a second cancel is an invalid move.
      expect((await call(admin, 'POST', `/commerce/orders/${order.id}/cancel`)).statusCode).toBe(409);
    });

    it('replays a fulfilment without moving stock twice; the key with another body or order is 422', async () => {
      const item = await product(5, 700);
      const order = (
        await call(staff, 'POST', '/commerce/orders', { lines: [{ product_id: item.id, quantity: 2 }] })
      ).json();
      const other = (
        await call(staff, 'POST', '/commerce/orders', { lines: [{ product_id: item.id, quantity: 1 }] })
      ).json();
      await markPaid(testApp, admin.tenant.id, order.id, 1400);
      await markPaid(testApp, admin.tenant.id, other.id, 700);
      const key = { 'idempotency-key': 'fulfil-1' };

      const first = await call(staff, 'POST', `/commerce/orders/${order.id}/fulfill`, undefined, key);
      expect(first.statusCode).toBe(200);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      expect(first.json()).toMatchObject({
        id: order.id,
        status: 'fulfilled',
        payment_status: 'paid',
        amount_paid: 1400,
      });
      const replay = await call(staff, 'POST', `/commerce/orders/${order.id}/fulfill`, undefined, key);
      expect(replay.statusCode).toBe(200);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.json()).toEqual(first.json());

      // The stock left on_hand once: 5 - 2, with the other order's unit still reserved.
      expect(await level(item.id)).toMatchObject({ on_hand: 3, reserved: 1, available: 2 });
      const expectedLedger = [
        ['fulfilment', -2, -2, 3, 1, order.id],
        ['reservation', 0, 1, 5, 3, other.id],
        ['reservation', 0, 2, 5, 2, order.id],
        ['set', 5, 0, 5, 0, null],
      ];
      expect(await movements(item.id)).toEqual(expectedLedger);
      const history = (await call(staff, 'GET', `/commerce/orders/${order.id}/history`)).json().data;
      expect(history.map((h: { from: string | null; to: string }) => [h.from, h.to])).toEqual([
        [null, 'pending'],
        ['pending', 'paid'],
        ['paid', 'fulfilled'],
      ]);
      // Without the key a second fulfilment is an invalid move.
      const again = await call(staff, 'POST', `/commerce/orders/${order.id}/fulfill`);
      expect(again.statusCode).toBe(409);
      expect(again.json()).toMatchObject({ code: 'invalid_state_transition' });

      // The same key with a body is another request.
      const otherBody = await call(
        staff,
        'POST',
        `/commerce/orders/${order.id}/fulfill`,
        { note: 'again' },
        key,
      );
      expect(otherBody.statusCode).toBe(422);
      expect(otherBody.json()).toMatchObject({ code: 'idempotency_conflict' });
      // So is the same key for another order: it is refused, and that order is not fulfilled.
      const otherPath = await call(staff, 'POST', `/commerce/orders/${other.id}/fulfill`, undefined, key);
      expect(otherPath.statusCode).toBe(422);
      expect(otherPath.json()).toMatchObject({ code: 'idempotency_conflict' });
      expect(otherPath.headers['idempotent-replayed']).toBeUndefined();
      expect((await call(staff, 'GET', `/commerce/orders/${other.id}`)).json()).toMatchObject({
        status: 'paid',
      });
      expect(await level(item.id)).toMatchObject({ on_hand: 3, reserved: 1, available: 2 });
      expect(await movements(item.id)).toEqual(expectedLedger);

      // Keys are per route: the same key cancels another order; a new key fulfils the other one.
      const pending = (
        await call(staff, 'POST', '/commerce/orders', { lines: [{ product_id: item.id, quantity: 1 }] })
      ).json();
      expect(
        (await call(staff, 'POST', `/commerce/orders/${pending.id}/cancel`, undefined, key)).statusCode,
      ).toBe(200);
      const second = await call(staff, 'POST', `/commerce/orders/${other.id}/fulfill`, undefined, {
        'idempotency-key': 'fulfil-2',
      });
      expect(second.statusCode).toBe(200);
      expect(second.json()).toMatchObject({ id: other.id, status: 'fulfilled' });
      expect(await level(item.id)).toMatchObject({ on_hand: 2, reserved: 0, available: 2 });
    });

    it('answers 409 idempotency_in_progress to a fulfilment repeated while the first runs, then replays it', async () => {
      const item = await product(3, 500);
      const order = (
        await call(staff, 'POST', '/commerce/orders', { lines: [{ product_id: item.id, quantity: 1 }] })
      ).json();
      await markPaid(testApp, admin.tenant.id, order.id, 500);
      const key = { 'idempotency-key': 'fulfil-slow' };
      const url = `/commerce/orders/${order.id}/fulfill`;

      // Another transaction holds the order's row, so the first fulfilment, once it has claimed
      // the key, waits inside its own transaction until that one ends.
      const held = await holdRows(testApp.platform.db, admin.tenant.id, (tx) =>
        sql`select id from orders where id = ${order.id} for update`.execute(tx),
      );
      let first: ReturnType<typeof call> | undefined;
      try {
        first = call(staff, 'POST', url, undefined, key);
        await until(async () => (await keyState(admin.tenant.id, 'fulfil-slow')) === 'running');

        const during = await call(staff, 'POST', url, undefined, key);
        expect(during.statusCode).toBe(409);
        expect(during.json()).toMatchObject({ code: 'idempotency_in_progress' });
        expect(during.headers['retry-after']).toBe('1');
        // Another request with the key is a conflict even while the first runs.
        const conflict = await call(staff, 'POST', url, { note: 'x' }, key);
        expect(conflict.statusCode).toBe(422);
        expect(conflict.json()).toMatchObject({ code: 'idempotency_conflict' });
        expect(await level(item.id)).toMatchObject({ on_hand: 3, reserved: 1, available: 2 });
      } finally {
        await held.release();
      }

      const answer = await first;
      expect(answer.statusCode).toBe(200);
      expect(answer.json()).toMatchObject({ id: order.id, status: 'fulfilled' });
      expect(await keyState(admin.tenant.id, 'fulfil-slow')).toBe('completed');
      const replay = await call(staff, 'POST', url, undefined, key);
      expect(replay.statusCode).toBe(200);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.json()).toEqual(answer.json());
      expect(await level(item.id)).toMatchObject({ on_hand: 2, reserved: 0, available: 2 });
      expect(await movements(item.id)).toEqual([
        ['fulfilment', -1, -1, 2, 0, order.id],
        ['reservation', 0, 1, 3, 1, order.id],
        ['set', 3, 0, 3, 0, null],
      ]);
    });
  });

  it('cancels a pending order, releasing its stock; invalid moves answer 409', async () => {
    const item = await product(4);
    const order = (
      await call(staff, 'POST', '/commerce/orders', { lines: [{ product_id: item.id, quantity: 3 }] })
    ).json();
    const fulfilPending = await call(staff, 'POST', `/commerce/orders/${order.id}/fulfill`);
    expect(fulfilPending.statusCode).toBe(409);
    expect(fulfilPending.json()).toMatchObject({ code: 'invalid_state_transition' });

    const cancelled = await call(staff, 'POST', `/commerce/orders/${order.id}/cancel`, {
      reason: 'customer changed their mind',
    });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ id: order.id, status: 'cancelled' });
    expect(await level(item.id)).toMatchObject({ on_hand: 4, reserved: 0, available: 4 });
    for (const action of ['cancel', 'fulfill']) {
      const again = await call(staff, 'POST', `/commerce/orders/${order.id}/${action}`);
      expect(again.statusCode).toBe(409);
      expect(again.json()).toMatchObject({ code: 'invalid_state_transition', status: 409 });
    }
    const history = (await call(admin, 'GET', `/commerce/orders/${order.id}/history`)).json().data;
    expect(history).toEqual([
      {
        id: expect.any(String),
        from: null,
        to: 'pending',
        actor: { type: 'user', id: staff.user.id },
        reason: null,
        created_at: expect.any(String),
      },
      {
        id: expect.any(String),
        from: 'pending',
        to: 'cancelled',
        actor: { type: 'user', id: staff.user.id },
        reason: 'customer changed their mind',
        created_at: expect.any(String),
      },
    ]);
  });

  it('becomes paid from payment events, then fulfils (stock leaves on_hand); cancel is refused once money was captured', async () => {
    const item = await product(5, 800);
    const order = (
      await call(staff, 'POST', '/commerce/orders', { lines: [{ product_id: item.id, quantity: 2 }] })
    ).json();
    await markPaid(testApp, admin.tenant.id, order.id, 600);
    expect((await call(staff, 'GET', `/commerce/orders/${order.id}`)).json()).toMatchObject({
      status: 'pending',
      payment_status: 'partially_paid',
      amount_paid: 600,
    });
    const cancel = await call(staff, 'POST', `/commerce/orders/${order.id}/cancel`);
    expect(cancel.statusCode).toBe(409);
    expect(cancel.json()).toMatchObject({ code: 'invalid_state_transition' });

    await markPaid(testApp, admin.tenant.id, order.id, 1000);
    expect((await call(staff, 'GET', `/commerce/orders/${order.id}`)).json()).toMatchObject({
      status: 'paid',
      payment_status: 'paid',
      amount_paid: 1600,
    });
    const fulfilled = await call(staff, 'POST', `/commerce/orders/${order.id}/fulfill`);
    expect(fulfilled.statusCode).toBe(200);
    expect(fulfilled.json()).toMatchObject({ status: 'fulfilled' });
    expect(await level(item.id)).toMatchObject({ on_hand: 3, reserved: 0, available: 3 });
    const history = (await call(staff, 'GET', `/commerce/orders/${order.id}/history`)).json().data;
    expect(
      history.map((h: { from: string | null; to: string; actor: { type: string } }) => [
        h.from,
        h.to,
        h.actor.type,
      ]),
    ).toEqual([
      [null, 'pending', 'user'],
      ['pending', 'paid', 'system'],
      ['paid', 'fulfilled', 'user'],
    ]);
  });

  describe('with real payments', () => {
    const pay = async (orderId: string, amount: number) => {
      const answer = await call(admin, 'POST', '/commerce/payments', {
        order_id: orderId,
        amount,
        currency: 'EUR',
        gateway: 'manual',
      });
      expect(answer.statusCode).toBe(201);
      return answer.json<{ id: string; status: string }>();
    };
    const refund = async (paymentId: string, amount: number) => {
      const created = await call(admin, 'POST', '/commerce/refunds', { payment_id: paymentId, amount });
      expect(created.statusCode).toBe(201);
      const processed = await call(admin, 'POST', `/commerce/refunds/${created.json().id}/process`);
      expect(processed.json()).toMatchObject({ status: 'processed' });
    };
    const placeOne = async (price: number) => {
      const item = await product(3, price);
      const placed = await call(admin, 'POST', '/commerce/orders', {
        lines: [{ product_id: item.id, quantity: 1 }],
      });
      return { item, order: placed.json<{ id: string }>() };
    };
    /** Waits until this many statements of the test's database wait for a lock. */
    const lockWaitersReach = (count: number) =>
      until(async () => (await lockWaiters(testApp.platform.db)) >= count);

    it('becomes paid only when what is captured less what is refunded covers the total', async () => {
      const { order } = await placeOne(1000);
      const first = await pay(order.id, 600);
      await refund(first.id, 600);
      await pay(order.id, 400);
      await testApp.flushEvents();
      // 1000 was captured, but 600 of it went back: 400 is held of 1000.
      expect((await call(admin, 'GET', `/commerce/orders/${order.id}`)).json()).toMatchObject({
        status: 'pending',
        amount_paid: 1000,
        amount_refunded: 600,
      });
      const early = await call(admin, 'POST', `/commerce/orders/${order.id}/fulfill`);
      expect(early.statusCode).toBe(409);
      expect(early.json()).toMatchObject({ code: 'invalid_state_transition' });

      const rest = await pay(order.id, 600);
      await testApp.flushEvents();
      expect((await call(admin, 'GET', `/commerce/orders/${order.id}`)).json()).toMatchObject({
        status: 'paid',
      });
      // Once paid, a partial refund leaves it paid.
      await refund(rest.id, 100);
      await testApp.flushEvents();
      expect((await call(admin, 'GET', `/commerce/orders/${order.id}`)).json()).toMatchObject({
        status: 'paid',
        payment_status: 'partially_refunded',
        amount_refunded: 700,
      });
    });

    it('refuses to cancel once a payment completed, before its event reached the order', async () => {
      const { item, order } = await placeOne(1000);
      expect((await pay(order.id, 1000)).status).toBe('completed');
      // No event was delivered: the order's amount_paid is still 0.
      const cancel = await call(admin, 'POST', `/commerce/orders/${order.id}/cancel`);
      expect(cancel.statusCode).toBe(409);
      expect(cancel.json()).toMatchObject({ code: 'invalid_state_transition' });
      expect(await level(item.id)).toMatchObject({ reserved: 1 });
      await testApp.flushEvents();
      expect((await call(admin, 'GET', `/commerce/orders/${order.id}`)).json()).toMatchObject({
        status: 'paid',
      });
    });

    it('lets a cancel and a payment racing for one order not both succeed', async () => {
      const { item, order } = await placeOne(1000);
      // Another transaction holds the order's row; the payment queues for it first, the cancel next.
      const held = await holdRows(testApp.platform.db, admin.tenant.id, (tx) =>
        sql`select id from orders where id = ${order.id} for update`.execute(tx),
      );
      let payment: ReturnType<typeof call> | undefined;
      let cancel: ReturnType<typeof call> | undefined;
      try {
        payment = call(admin, 'POST', '/commerce/payments', {
          order_id: order.id,
          amount: 1000,
          currency: 'EUR',
          gateway: 'manual',
        });
        await lockWaitersReach(1);
        cancel = call(admin, 'POST', `/commerce/orders/${order.id}/cancel`);
        await lockWaitersReach(2);
      } finally {
        await held.release();
      }
      expect((await payment).statusCode).toBe(201);
      const refused = await cancel;
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toMatchObject({ code: 'invalid_state_transition' });
      expect(await level(item.id)).toMatchObject({ reserved: 1 });
    });
  });

  it('lists orders newest first, by status, with a cursor', async () => {
    const tenant = await registerTenant(testApp);
    const item = await product(10, 100, tenant);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (
          await call(tenant, 'POST', '/commerce/orders', { lines: [{ product_id: item.id, quantity: 1 }] })
        ).json().id,
      );
    }
    await call(tenant, 'POST', `/commerce/orders/${ids[1]}/cancel`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { data: { id: string; lines: unknown[] }[]; next_cursor: string | null } = (
        await call(tenant, 'GET', `/commerce/orders?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      ).json();
      for (const order of page.data) expect(order.lines).toHaveLength(1);
      seen.push(...page.data.map((order) => order.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const cancelled = (await call(tenant, 'GET', '/commerce/orders?status=cancelled')).json();
    expect(cancelled).toMatchObject({ data: [{ id: ids[1], status: 'cancelled' }], next_cursor: null });
    expect((await call(tenant, 'GET', '/commerce/orders?status=lost')).statusCode).toBe(400);
  });

  it('checks permissions per role', async () => {
    const item = await product(5);
    const user = await addMember(testApp, admin, ['user']);
    const manager = await addMember(testApp, admin, ['manager']);
    const refused = await call(user, 'POST', '/commerce/orders', {
      lines: [{ product_id: item.id, quantity: 1 }],
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'forbidden' });
    expect((await call(user, 'GET', '/commerce/orders')).statusCode).toBe(403);
    const order = (
      await call(manager, 'POST', '/commerce/orders', { lines: [{ product_id: item.id, quantity: 1 }] })
    ).json();
    expect((await call(user, 'GET', `/commerce/orders/${order.id}`)).statusCode).toBe(403);
    expect((await call(user, 'GET', `/commerce/orders/${order.id}/history`)).statusCode).toBe(403);
    expect((await call(user, 'POST', `/commerce/orders/${order.id}/cancel`)).statusCode).toBe(403);
    expect((await call(user, 'POST', `/commerce/orders/${order.id}/fulfill`)).statusCode).toBe(403);
    expect((await call(staff, 'POST', `/commerce/orders/${order.id}/cancel`)).statusCode).toBe(200);
    expect(
      (await testApp.app.inject({ method: 'GET', url: `/commerce/orders/${order.id}` })).statusCode,
    ).toBe(401);
  });

  it("answers 404 for another tenant's order and never touches it", async () => {
    const theirItem = await product(3, 100, stranger);
    const theirs = (
      await call(stranger, 'POST', '/commerce/orders', { lines: [{ product_id: theirItem.id, quantity: 1 }] })
    ).json();
    for (const [method, url] of [
      ['GET', `/commerce/orders/${theirs.id}`],
      ['GET', `/commerce/orders/${theirs.id}/history`],
      ['POST', `/commerce/orders/${theirs.id}/cancel`],
      ['POST', `/commerce/orders/${theirs.id}/fulfill`],
      ['GET', `/commerce/orders/${uuidv7()}`],
    ] as const) {
      const answer = await call(admin, method, url);
      expect(answer.statusCode, `${method} ${url}`).toBe(404);
      expect(answer.json()).toMatchObject({ code: 'not_found' });
    }
    // Ordering another tenant's product: it does not exist here.
    expect(
      (await call(admin, 'POST', '/commerce/orders', { lines: [{ product_id: theirItem.id, quantity: 1 }] }))
        .statusCode,
    ).toBe(400);
    expect(
      (await call(admin, 'GET', '/commerce/orders')).json().data.map((o: { id: string }) => o.id),
    ).not.toContain(theirs.id);
    expect((await call(stranger, 'GET', `/commerce/orders/${theirs.id}`)).json()).toMatchObject({
      status: 'pending',
    });
    expect(await level(theirItem.id, stranger)).toMatchObject({ reserved: 1 });
  });
  it("exports a period's orders as CSV, in the tenant's time zone, safe to open in a spreadsheet", async () => {
    // A tenant of its own: the period holds its two orders and nothing the other tests placed.
    const shop = await registerTenant(testApp);
    const clerk = await addMember(testApp, shop, ['staff']);
    expect(
      (await call(shop, 'PATCH', '/tenants/current', { time_zone: 'America/New_York' })).statusCode,
    ).toBe(200);
    const from = new Date(Date.now() - 1000).toISOString();
    const lamp = await product(10, 2550, shop);
    const quoted = (
      await call(shop, 'POST', '/commerce/orders', {
        lines: [{ product_id: lamp.id, quantity: 2 }],
        customer_email: 'ana@example.test',
        note: 'Gift wrap, "blue" paper',
      })
    ).json<{ id: string; number: number; total: number; created_at: string }>();
    await markPaid(testApp, shop.tenant.id, quoted.id, quoted.total);
    const formula = (
      await call(shop, 'POST', '/commerce/orders', {
        lines: [{ product_id: lamp.id, quantity: 1 }],
        note: '=HYPERLINK("http://evil.test","Click")',
      })
    ).json<{ number: number }>();
    await call(stranger, 'POST', '/commerce/orders', {
      lines: [{ product_id: (await product(5, 100, stranger)).id, quantity: 1 }],
    });
    const to = new Date(Date.now() + 1000).toISOString();

    const exported = await call(clerk, 'GET', `/commerce/orders/export?from=${from}&to=${to}`);
    expect(exported.statusCode).toBe(200);
    expect(exported.headers['content-type']).toBe('text/csv; charset=utf-8');
    const dayInNewYork = new Intl.DateTimeFormat('en-CA', {
      timeZone: 'America/New_York',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    // Named by the business's days, not UTC's: the first, and the last one before `to`.
    expect(exported.headers['content-disposition']).toBe(
      `attachment; filename="orders-${dayInNewYork.format(new Date(from))}-to-${dayInNewYork.format(new Date(Date.parse(to) - 1))}.csv"`,
    );
    const placedAt = dayInNewYork.format(new Date(quoted.created_at));
    expect(exported.body.split('\r\n')).toEqual([
      'number,placed_at,status,payment_status,currency,items,subtotal,total,amount_paid,amount_refunded,customer_email,note',
      expect.stringMatching(
        new RegExp(
          `^${quoted.number},${placedAt}T\\d{2}:\\d{2}:\\d{2}-0[45]:00,paid,paid,EUR,2,51\\.00,51\\.00,51\\.00,0\\.00,ana@example\\.test,"Gift wrap, ""blue"" paper"$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `^${formula.number},${placedAt}T[^,]+,pending,unpaid,EUR,1,25\\.50,25\\.50,0\\.00,0\\.00,,"'=HYPERLINK\\(""http://evil\\.test"",""Click""\\)"$`,
        ),
      ),
      '',
    ]);

    // A period the wrong way round, or longer than a year, is refused before anything is sent.
    const backwards = await call(shop, 'GET', `/commerce/orders/export?from=${to}&to=${from}`);
    expect(backwards.statusCode).toBe(400);
    expect(backwards.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: 'to' }] });
    const long = await call(
      shop,
      'GET',
      `/commerce/orders/export?from=2024-01-01T00:00:00Z&to=2025-01-02T00:00:00Z`,
    );
    expect(long.statusCode).toBe(400);
    const user = await addMember(testApp, shop, ['user']);
    expect((await call(user, 'GET', `/commerce/orders/export?from=${from}&to=${to}`)).statusCode).toBe(403);
  });
});
