import { uuidv7 } from '@tessera/contracts';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app';
import { addMember, registerTenant, type TestTenant, type TestUser } from '../../../test/support/auth';
import { markPaid } from '../../../test/support/payments';
import { holdRows, lockWaiters, until } from '../../../test/support/locks';
import { serviceAvailable } from '../../../test/support/services';
import type { Tx } from '../../platform/db/tenant';
import { userActor } from '../../platform/events/outbox';

const postgresUp = await serviceAvailable('postgres');

describe.runIf(postgresUp)('inventory routes', () => {
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

  /** Waits until a statement of the test's database waits for a lock. */
  const lockWaiter = () => until(async () => (await lockWaiters(testApp.platform.db)) > 0);

  /** Holds the product's stock row until released; `then` runs under it before it commits. */
  const holdLevel = (productId: string, then?: (tx: Tx) => Promise<unknown>) =>
    holdRows(
      testApp.platform.db,
      admin.tenant.id,
      (tx) => sql`select product_id from stock_levels where product_id = ${productId} for update`.execute(tx),
      then,
    );

  const product = async (who: Who = admin) =>
    (
      await call(who, 'POST', '/commerce/products', {
        sku: `INV-${++sku}`,
        name: `Item ${sku}`,
        price: 500,
        currency: 'EUR',
      })
    ).json<{ id: string; sku: string; name: string }>();

  /** The inventory.stock.updated events of these products, oldest first: their actor and data. */
  async function stockEvents(...productIds: string[]) {
    const { rows } = await sql<{
      actor: { type: string; id: string | null };
      data: { product_id: string; reason: string; low_stock: boolean } & Record<string, unknown>;
    }>`
      select payload->'actor' as actor, payload->'data' as data from outbox_events
      where type = 'inventory.stock.updated' and payload->'data'->>'product_id' = any(${productIds}::text[])
      order by seq`.execute(testApp.platform.db);
    return rows;
  }

  beforeAll(async () => {
    testApp = await createTestApp();
    admin = await registerTenant(testApp);
    staff = await addMember(testApp, admin, ['staff']);
    stranger = await registerTenant(testApp);
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('sets on_hand and the threshold, adjusts with a reason, and keeps the ledger with actor', async () => {
    const item = await product();
    const set = await call(admin, 'PUT', `/commerce/inventory/${item.id}`, {
      on_hand: 10,
      low_stock_threshold: 3,
    });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toMatchObject({
      product_id: item.id,
      sku: item.sku,
      on_hand: 10,
      reserved: 0,
      available: 10,
      low_stock_threshold: 3,
    });

    const adjusted = await call(admin, 'POST', `/commerce/inventory/${item.id}/adjustments`, {
      delta: -4,
      reason: 'damaged in transit',
    });
    expect(adjusted.statusCode).toBe(200);
    expect(adjusted.json()).toMatchObject({ on_hand: 6, available: 6 });
    const order = await call(admin, 'POST', '/commerce/orders', {
      lines: [{ product_id: item.id, quantity: 2 }],
    });
    expect(order.statusCode).toBe(201);

    const ledger = await call(staff, 'GET', `/commerce/inventory/${item.id}/adjustments`);
    expect(ledger.statusCode).toBe(200);
    const entries = ledger.json().data;
    expect(
      entries.map((e: { kind: string; delta_on_hand: number; delta_reserved: number }) => [
        e.kind,
        e.delta_on_hand,
        e.delta_reserved,
      ]),
    ).toEqual([
      ['reservation', 0, 2],
      ['adjustment', -4, 0],
      ['set', 10, 0],
    ]);
    expect(entries[1]).toMatchObject({
      delta: -4,
      reason: 'damaged in transit',
      on_hand_after: 6,
      reserved_after: 0,
      order_id: null,
      actor: { type: 'user', id: admin.user.id },
    });
    expect(entries[0]).toMatchObject({
      order_id: order.json().id,
      reason: null,
      on_hand_after: 6,
      reserved_after: 2,
    });
    expect((await call(admin, 'GET', `/commerce/inventory/${item.id}`)).json()).toMatchObject({
      on_hand: 6,
      reserved: 2,
      available: 4,
    });
  });

  it('sorts the ledger in the order movements were applied: its newest entry is the level', async () => {
    const item = await product();
    await call(admin, 'PUT', `/commerce/inventory/${item.id}`, { on_hand: 10 });
    // An order waits for the stock row while a delivery is booked under its lock.
    const delivery = await holdLevel(item.id, (tx) =>
      testApp.modules.services.inventory.adjust(
        tx,
        { tenantId: admin.tenant.id, actor: userActor(admin.user.id) },
        item.id,
        { delta: 5, reason: 'delivery' },
      ),
    );
    let order: ReturnType<typeof call> | undefined;
    try {
      order = call(admin, 'POST', '/commerce/orders', { lines: [{ product_id: item.id, quantity: 2 }] });
      await lockWaiter();
    } finally {
      await delivery.release();
    }
    expect((await order).statusCode).toBe(201);
    const ledger = (await call(admin, 'GET', `/commerce/inventory/${item.id}/adjustments`)).json().data;
    expect(
      ledger.map((m: { kind: string; on_hand_after: number; reserved_after: number }) => [
        m.kind,
        m.on_hand_after,
        m.reserved_after,
      ]),
    ).toEqual([
      ['reservation', 15, 2],
      ['adjustment', 15, 0],
      ['set', 10, 0],
    ]);
    expect((await call(admin, 'GET', `/commerce/inventory/${item.id}`)).json()).toMatchObject({
      on_hand: 15,
      reserved: 2,
    });
  });

  describe('Idempotency-Key on adjustments', () => {
    it('replays the first answer for the same key and body, once moved; another body is 422', async () => {
      const item = await product();
      const url = `/commerce/inventory/${item.id}/adjustments`;
      const key = { 'idempotency-key': 'delivery-1' };
      const first = await call(admin, 'POST', url, { delta: 4, reason: 'delivery' }, key);
      expect(first.statusCode).toBe(200);
      expect(first.json()).toMatchObject({ on_hand: 4 });
      const replay = await call(admin, 'POST', url, { delta: 4, reason: 'delivery' }, key);
      expect(replay.statusCode).toBe(200);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.json()).toEqual(first.json());
      const conflict = await call(admin, 'POST', url, { delta: 5, reason: 'delivery' }, key);
      expect(conflict.statusCode).toBe(422);
      expect(conflict.json()).toMatchObject({ code: 'idempotency_conflict' });
      expect((await call(admin, 'GET', `/commerce/inventory/${item.id}`)).json()).toMatchObject({
        on_hand: 4,
      });
      const ledger = (await call(admin, 'GET', url)).json().data;
      expect(ledger.map((m: { kind: string }) => m.kind)).toEqual(['adjustment']);

      // A refusal is replayed too, even once the stock would allow it.
      const refused = await call(
        admin,
        'POST',
        url,
        { delta: -9, reason: 'count' },
        { 'idempotency-key': 'count-1' },
      );
      expect(refused.statusCode).toBe(409);
      await call(admin, 'PUT', `/commerce/inventory/${item.id}`, { on_hand: 20 });
      const again = await call(
        admin,
        'POST',
        url,
        { delta: -9, reason: 'count' },
        { 'idempotency-key': 'count-1' },
      );
      expect(again.statusCode).toBe(409);
      expect(again.json()).toEqual(refused.json());
      expect((await call(admin, 'GET', `/commerce/inventory/${item.id}`)).json()).toMatchObject({
        on_hand: 20,
      });
    });

    it('answers 409 idempotency_in_progress while the first runs, then replays it', async () => {
      const item = await product();
      const url = `/commerce/inventory/${item.id}/adjustments`;
      const key = { 'idempotency-key': 'delivery-slow' };
      const body = { delta: 3, reason: 'delivery' };
      const held = await holdLevel(item.id);
      let first: ReturnType<typeof call> | undefined;
      try {
        first = call(admin, 'POST', url, body, key);
        await lockWaiter();
        const during = await call(admin, 'POST', url, body, key);
        expect(during.statusCode).toBe(409);
        expect(during.json()).toMatchObject({ code: 'idempotency_in_progress' });
      } finally {
        await held.release();
      }
      const answer = await first;
      expect(answer.statusCode).toBe(200);
      expect(answer.json()).toMatchObject({ on_hand: 3 });
      const replay = await call(admin, 'POST', url, body, key);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.json()).toEqual(answer.json());
      expect((await call(admin, 'GET', `/commerce/inventory/${item.id}`)).json()).toMatchObject({
        on_hand: 3,
      });
    });
  });

  it('refuses to take on_hand below what is reserved (409 insufficient_stock)', async () => {
    const item = await product();
    await call(admin, 'PUT', `/commerce/inventory/${item.id}`, { on_hand: 5 });
    await call(admin, 'POST', '/commerce/orders', { lines: [{ product_id: item.id, quantity: 4 }] });
    const tooMuch = await call(admin, 'POST', `/commerce/inventory/${item.id}/adjustments`, {
      delta: -2,
      reason: 'lost',
    });
    expect(tooMuch.statusCode).toBe(409);
    expect(tooMuch.json()).toMatchObject({ code: 'insufficient_stock' });
    const setLow = await call(admin, 'PUT', `/commerce/inventory/${item.id}`, { on_hand: 3 });
    expect(setLow.json()).toMatchObject({ code: 'insufficient_stock' });
    expect(
      (
        await call(admin, 'POST', `/commerce/inventory/${item.id}/adjustments`, { delta: -1, reason: 'lost' })
      ).json(),
    ).toMatchObject({
      on_hand: 4,
      reserved: 4,
      available: 0,
    });
  });

  it('validates adjustments', async () => {
    const item = await product();
    for (const body of [
      { delta: 0, reason: 'x' },
      { delta: 2 },
      { delta: 1.5, reason: 'x' },
      { delta: 2, reason: '' },
    ]) {
      expect(
        (await call(admin, 'POST', `/commerce/inventory/${item.id}/adjustments`, body)).statusCode,
        JSON.stringify(body),
      ).toBe(400);
    }
    expect((await call(admin, 'PUT', `/commerce/inventory/${item.id}`, { on_hand: -1 })).statusCode).toBe(
      400,
    );
    expect((await call(admin, 'PUT', `/commerce/inventory/${item.id}`, {})).statusCode).toBe(400);
  });

  it('raises inventory.stock.updated on every change', async () => {
    const item = await product();
    await call(admin, 'PUT', `/commerce/inventory/${item.id}`, { on_hand: 5, low_stock_threshold: 2 });
    await call(admin, 'POST', `/commerce/inventory/${item.id}/adjustments`, { delta: -3, reason: 'count' });
    const { rows } = await sql<{ data: Record<string, unknown> }>`
      select payload->'data' as data from outbox_events
      where type = 'inventory.stock.updated' and payload->'data'->>'product_id' = ${item.id} order by seq`.execute(
      testApp.platform.db,
    );
    expect(rows.map((row) => row.data)).toEqual([
      {
        product_id: item.id,
        sku: item.sku,
        on_hand: 5,
        reserved: 0,
        available: 5,
        low_stock_threshold: 2,
        reason: 'set',
        delta_on_hand: 5,
        delta_reserved: 0,
        low_stock: false,
      },
      {
        product_id: item.id,
        sku: item.sku,
        on_hand: 2,
        reserved: 0,
        available: 2,
        low_stock_threshold: 2,
        reason: 'adjustment',
        delta_on_hand: -3,
        delta_reserved: 0,
        low_stock: true,
      },
    ]);
  });

  it('raises one inventory.stock.updated per line when orders reserve, release and fulfil stock', async () => {
    const a = await product();
    const b = await product();
    await call(admin, 'PUT', `/commerce/inventory/${a.id}`, { on_hand: 10, low_stock_threshold: 4 });
    await call(admin, 'PUT', `/commerce/inventory/${b.id}`, { on_hand: 6, low_stock_threshold: 1 });
    const placed = async (lines: { product_id: string; quantity: number }[]) => {
      const answer = await call(staff, 'POST', '/commerce/orders', { lines });
      expect(answer.statusCode).toBe(201);
      return answer.json<{ id: string; total: number }>();
    };
    const cancelled = await placed([
      { product_id: a.id, quantity: 3 },
      { product_id: b.id, quantity: 2 },
    ]);
    const shipped = await placed([
      { product_id: b.id, quantity: 1 },
      { product_id: a.id, quantity: 4 },
    ]);
    expect((await call(staff, 'POST', `/commerce/orders/${cancelled.id}/cancel`)).statusCode).toBe(200);
    await markPaid(testApp, admin.tenant.id, shipped.id, shipped.total);
    expect((await call(staff, 'POST', `/commerce/orders/${shipped.id}/fulfill`)).statusCode).toBe(200);

    const events = await stockEvents(a.id, b.id);
    const user = { type: 'user', id: staff.user.id };
    const ofA = (
      reason: string,
      on_hand: number,
      reserved: number,
      delta_on_hand: number,
      delta_reserved: number,
    ) => ({
      product_id: a.id,
      sku: a.sku,
      on_hand,
      reserved,
      available: on_hand - reserved,
      low_stock_threshold: 4,
      reason,
      delta_on_hand,
      delta_reserved,
      low_stock: on_hand - reserved <= 4,
    });
    const ofB = (
      reason: string,
      on_hand: number,
      reserved: number,
      delta_on_hand: number,
      delta_reserved: number,
    ) => ({
      ...ofA(reason, on_hand, reserved, delta_on_hand, delta_reserved),
      product_id: b.id,
      sku: b.sku,
      low_stock_threshold: 1,
      low_stock: on_hand - reserved <= 1,
    });
    // Oldest first; the set events were the admin's, the rest the staff member's.
    expect(events.filter((event) => event.data.product_id === a.id)).toEqual([
      { actor: { type: 'user', id: admin.user.id }, data: ofA('set', 10, 0, 10, 0) },
      { actor: user, data: ofA('reservation', 10, 3, 0, 3) },
      { actor: user, data: ofA('reservation', 10, 7, 0, 4) },
      { actor: user, data: ofA('release', 10, 4, 0, -3) },
      { actor: user, data: ofA('fulfilment', 6, 0, -4, -4) },
    ]);
    expect(events.filter((event) => event.data.product_id === b.id)).toEqual([
      { actor: { type: 'user', id: admin.user.id }, data: ofB('set', 6, 0, 6, 0) },
      { actor: user, data: ofB('reservation', 6, 2, 0, 2) },
      { actor: user, data: ofB('reservation', 6, 3, 0, 1) },
      { actor: user, data: ofB('release', 6, 1, 0, -2) },
      { actor: user, data: ofB('fulfilment', 5, 0, -1, -1) },
    ]);
    // The reservation of 4 took a below its threshold: the event says so.
    expect(events.filter((event) => event.data.low_stock).map((event) => event.data.reason)).toEqual([
      'reservation',
    ]);
    // What the events say last is what the levels are.
    expect((await call(admin, 'GET', `/commerce/inventory/${a.id}`)).json()).toMatchObject({
      on_hand: 6,
      reserved: 0,
      available: 6,
    });
    expect((await call(admin, 'GET', `/commerce/inventory/${b.id}`)).json()).toMatchObject({
      on_hand: 5,
      reserved: 0,
      available: 5,
    });

    // A refused order (b is short) reserves nothing and raises nothing.
    const refused = await call(staff, 'POST', '/commerce/orders', {
      lines: [
        { product_id: a.id, quantity: 1 },
        { product_id: b.id, quantity: 6 },
      ],
    });
    expect(refused.statusCode).toBe(409);
    expect(await stockEvents(a.id, b.id)).toHaveLength(events.length);
  });

  it('lists levels by SKU with a cursor, and only the low ones or only the others on request', async () => {
    const tenant = await registerTenant(testApp);
    const items = [await product(tenant), await product(tenant), await product(tenant)];
    await call(tenant, 'PUT', `/commerce/inventory/${items[0]!.id}`, { on_hand: 10, low_stock_threshold: 2 });
    await call(tenant, 'PUT', `/commerce/inventory/${items[1]!.id}`, { on_hand: 1, low_stock_threshold: 2 });
    await call(tenant, 'PUT', `/commerce/inventory/${items[2]!.id}`, { on_hand: 7 });
    const first = (await call(tenant, 'GET', '/commerce/inventory?limit=2')).json();
    expect(first.data.map((l: { sku: string }) => l.sku)).toEqual([items[0]!.sku, items[1]!.sku]);
    const second = (
      await call(tenant, 'GET', `/commerce/inventory?limit=2&cursor=${first.next_cursor}`)
    ).json();
    expect(second).toMatchObject({ data: [{ sku: items[2]!.sku }], next_cursor: null });
    const low = (await call(tenant, 'GET', '/commerce/inventory?low_stock=true')).json();
    expect(low.data.map((l: { sku: string }) => l.sku)).toEqual([items[1]!.sku]);
    const notLow = (await call(tenant, 'GET', '/commerce/inventory?low_stock=false')).json();
    expect(notLow.data.map((l: { sku: string }) => l.sku)).toEqual([items[0]!.sku, items[2]!.sku]);
  });

  it('raises no low-stock alert for an archived product: not listed low, not on the dashboard, no notice', async () => {
    const tenant = await registerTenant(testApp);
    const [sold, archived] = [await product(tenant), await product(tenant)];
    for (const item of [sold, archived])
      await call(tenant, 'PUT', `/commerce/inventory/${item.id}`, { on_hand: 1, low_stock_threshold: 2 });
    expect(
      (await call(tenant, 'PATCH', `/commerce/products/${archived.id}`, { active: false })).statusCode,
    ).toBe(200);
    // Its last units counted and one found: a set and an adjustment, both still at the threshold.
    await call(tenant, 'PUT', `/commerce/inventory/${archived.id}`, { on_hand: 0 });
    await call(tenant, 'POST', `/commerce/inventory/${archived.id}/adjustments`, {
      delta: 1,
      reason: 'found',
    });

    const low = (await call(tenant, 'GET', '/commerce/inventory?low_stock=true')).json();
    expect(low.data.map((level: { sku: string }) => level.sku)).toEqual([sold.sku]);
    const dashboard = (await call(tenant, 'GET', '/api/analytics/dashboard')).json();
    expect(dashboard.low_stock.map((level: { sku: string }) => level.sku)).toEqual([sold.sku]);
    // Low-stock notices are raised from the events' low_stock.
    expect(
      (await stockEvents(archived.id)).map((event) => [event.data.reason, event.data.low_stock]),
    ).toEqual([
      ['set', true],
      ['set', false],
      ['adjustment', false],
    ]);
  });

  it('lists the levels of the products asked for, and refuses a malformed product id', async () => {
    const tenant = await registerTenant(testApp);
    const items = [await product(tenant), await product(tenant), await product(tenant)];
    const some = (
      await call(tenant, 'GET', `/commerce/inventory?product_id=${items[2]!.id}&product_id=${items[0]!.id}`)
    ).json();
    const bySku = [items[0]!, items[2]!].sort((a, b) => (a.sku < b.sku ? -1 : 1));
    expect(some).toMatchObject({ data: bySku.map(({ id }) => ({ product_id: id })), next_cursor: null });
    const one = (await call(tenant, 'GET', `/commerce/inventory?product_id=${items[1]!.id}`)).json();
    expect(one.data.map((l: { product_id: string }) => l.product_id)).toEqual([items[1]!.id]);
    // Another tenant's product is simply not there.
    const foreign = await product(stranger);
    const mixed = (
      await call(tenant, 'GET', `/commerce/inventory?product_id=${foreign.id}&product_id=${items[1]!.id}`)
    ).json();
    expect(mixed.data.map((l: { product_id: string }) => l.product_id)).toEqual([items[1]!.id]);
    const malformed = await call(tenant, 'GET', '/commerce/inventory?product_id=not-a-uuid');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ code: 'validation_failed' });
  });

  it('checks permissions: staff read stock but cannot change it; users cannot read it', async () => {
    const item = await product();
    const user = await addMember(testApp, admin, ['user']);
    expect((await call(staff, 'GET', `/commerce/inventory/${item.id}`)).statusCode).toBe(200);
    expect((await call(staff, 'PUT', `/commerce/inventory/${item.id}`, { on_hand: 4 })).statusCode).toBe(403);
    expect(
      (await call(staff, 'POST', `/commerce/inventory/${item.id}/adjustments`, { delta: 1, reason: 'x' }))
        .statusCode,
    ).toBe(403);
    expect((await call(user, 'GET', '/commerce/inventory')).statusCode).toBe(403);
    expect((await call(user, 'GET', `/commerce/inventory/${item.id}/adjustments`)).statusCode).toBe(403);
  });

  it("answers 404 for another tenant's product", async () => {
    const theirs = await product(stranger);
    for (const [method, url, body] of [
      ['GET', `/commerce/inventory/${theirs.id}`, undefined],
      ['PUT', `/commerce/inventory/${theirs.id}`, { on_hand: 99 }],
      ['POST', `/commerce/inventory/${theirs.id}/adjustments`, { delta: 5, reason: 'x' }],
      ['GET', `/commerce/inventory/${theirs.id}/adjustments`, undefined],
      ['GET', `/commerce/inventory/${uuidv7()}`, undefined],
    ] as const) {
      const answer = await call(admin, method, url, body);
      expect(answer.statusCode, `${method} ${url}`).toBe(404);
      expect(answer.json()).toMatchObject({ code: 'not_found' });
    }
    expect((await call(stranger, 'GET', `/commerce/inventory/${theirs.id}`)).json()).toMatchObject({
      on_hand: 0,
    });
  });
});
