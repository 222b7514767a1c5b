import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app';
import { addMember, registerTenant, type AuthHeaders, type TestTenant } from '../../../test/support/auth';
import { serviceAvailable } from '../../../test/support/services';

const postgresUp = await serviceAvailable('postgres');

interface GraphqlAnswer<T = Record<string, unknown>> {
  data: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

const ORDER_QUERY = /* GraphQL */ `
  query Order($id: ID!) {
    order(id: $id) {
      id
      number
      status
      payment_status
      currency
      subtotal
      total
      amount_paid
      amount_refunded
      customer_email
      note
      created_at
      updated_at
      lines {
        product_id
        sku
        name
        quantity
        unit_price
        line_total
        product {
          id
          sku
          name
          price
          currency
          active
        }
      }
      payments {
        id
        order_id
        gateway
        payment_method_id
        amount
        currency
        status
        capture
        amount_authorized
        amount_captured
        amount_refunded
        gateway_reference
        next_action
        pending_operation
        failure_code
        failure_message
        change_due
        created_at
        updated_at
        refunds {
          id
          payment_id
          amount
          currency
          status
          reason
          gateway_reference
          failure_code
          failure_message
          created_at
          updated_at
          processed_at
        }
      }
      history {
        id
        from
        to
        actor {
          type
          id
        }
        reason
        created_at
      }
    }
  }
`;

describe.runIf(postgresUp)('GraphQL /graphql', () => {
  let testApp: TestApp;
  let admin: TestTenant;
  let other: TestTenant;
  let orderId: string;
  let productId: string;

  const rest = async <T>(
    auth: AuthHeaders,
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    payload?: object,
  ) => {
    const response = await testApp.app.inject({
      method,
      url,
      headers: auth,
      ...(payload ? { payload } : {}),
    });
    expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300);
    return response.json<T>();
  };
  const graphql = async <T>(auth: AuthHeaders, query: string, variables: object = {}) => {
    const response = await testApp.app.inject({
      method: 'POST',
      url: '/graphql',
      headers: auth,
      payload: { query, variables },
    });
    return { status: response.statusCode, body: response.json<GraphqlAnswer<T>>() };
  };

  beforeAll(async () => {
    testApp = await createTestApp({ env: { GRAPHQL_MAX_DEPTH: '4' } });
    admin = await registerTenant(testApp);
    other = await registerTenant(testApp);
    productId = (
      await rest<{ id: string }>(admin.auth, 'POST', '/commerce/products', {
        sku: 'TEA-1',
        name: 'Green tea',
        price: 450,
        currency: 'EUR',
      })
    ).id;
    await rest(admin.auth, 'PUT', `/commerce/inventory/${productId}`, { on_hand: 40 });
    const order = await rest<{ id: string; total: number }>(admin.auth, 'POST', '/commerce/orders', {
      lines: [{ product_id: productId, quantity: 3 }],
      customer_email: 'buyer@example.test',
    });
    orderId = order.id;
    const payment = await rest<{ id: string }>(admin.auth, 'POST', '/commerce/payments', {
      order_id: orderId,
      amount: order.total,
      currency: 'EUR',
      gateway: 'manual',
      cash_tendered: 2000,
    });
    await rest(admin.auth, 'POST', '/commerce/refunds', {
      payment_id: payment.id,
      amount: 450,
      reason: 'broken',
    });
    await testApp.flushEvents();
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('answers an order with its lines, products, payments, refunds and history, as REST does', async () => {
    const { status, body } = await graphql<{ order: Record<string, unknown> }>(admin.auth, ORDER_QUERY, {
      id: orderId,
    });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const order = body.data!.order as Record<string, unknown> & {
      lines: Record<string, unknown>[];
      payments: (Record<string, unknown> & { refunds: unknown[] })[];
      history: unknown[];
    };

    const viaRest = await rest<Record<string, unknown>>(admin.auth, 'GET', `/commerce/orders/${orderId}`);
    const { lines, payments, history, ...scalars } = order;
    const { lines: restLines, ...restScalars } = viaRest as { lines: Record<string, unknown>[] };
    expect(scalars).toEqual(restScalars);
    expect(lines.map(({ product: _product, ...line }) => line)).toEqual(restLines);
    const product = await rest<Record<string, unknown>>(admin.auth, 'GET', `/commerce/products/${productId}`);
    expect(lines[0]!.product).toMatchObject({
      id: productId,
      sku: product.sku,
      name: product.name,
      price: 450,
    });

    const restPayments = await rest<{ data: { id: string; order_number: number }[] }>(
      admin.auth,
      'GET',
      `/commerce/payments?order_id=${orderId}`,
    );
    // The REST list names each payment's order number, which GraphQL gives on the order above them.
    expect(payments.map(({ refunds: _refunds, ...payment }) => payment)).toEqual(
      restPayments.data.map(({ order_number: _number, ...payment }) => payment),
    );
    expect(payments).toHaveLength(1);
    const restRefunds = await rest<{ data: { order_id: string; order_number: number }[] }>(
      admin.auth,
      'GET',
      `/commerce/refunds?payment_id=${payments[0]!.id as string}`,
    );
    expect(payments[0]!.refunds).toEqual(
      restRefunds.data.map(({ order_id: _id, order_number: _number, ...refund }) => refund),
    );
    expect(payments[0]!.refunds).toHaveLength(1);

    const restHistory = await rest<unknown>(admin.auth, 'GET', `/commerce/orders/${orderId}/history`);
    expect(history).toEqual(
      Array.isArray(restHistory) ? restHistory : (restHistory as { data: unknown[] }).data,
    );
  });

  it('answers the lists and me as REST does', async () => {
    const { body } = await graphql<{
      me: { id: string; tenant_id: string };
      products: { data: unknown[]; next_cursor: string | null };
      inventory: { data: unknown[] };
      orders: { data: { id: string }[] };
      recommendations: { strategy: string };
      dashboard: { orders: number; currencies: string[] };
    }>(
      admin.auth,
      `{ me { id tenant_id permissions } products(limit: 10) { data { id sku name description price currency active created_at updated_at } next_cursor }
         inventory { data { product_id sku on_hand reserved available low_stock_threshold updated_at } }
         orders { data { id } } recommendations(product_id: "${productId}") { strategy items { product_id } }
         dashboard { orders revenue currency currencies } }`,
    );
    expect(body.errors).toBeUndefined();
    const data = body.data!;
    expect(data.me).toMatchObject({ id: admin.user.id, tenant_id: admin.tenant.id });
    expect(data.products).toEqual(await rest(admin.auth, 'GET', '/commerce/products?limit=10'));
    expect(data.inventory.data).toEqual(
      (await rest<{ data: unknown[] }>(admin.auth, 'GET', '/commerce/inventory')).data,
    );
    expect(data.orders.data.map((order) => order.id)).toEqual([orderId]);
    const dashboard = await rest<{ orders: number; currencies: string[] }>(
      admin.auth,
      'GET',
      '/api/analytics/dashboard',
    );
    expect(data.dashboard.orders).toBe(dashboard.orders);
    expect(data.dashboard.currencies).toEqual(dashboard.currencies);
  });

  it('shows nothing of another tenant', async () => {
    const { body } = await graphql<{
      order: unknown;
      orders: { data: unknown[] };
      products: { data: unknown[] };
      product: unknown;
    }>(
      other.auth,
      `
        query ($id: ID!, $product: ID!) {
          order(id: $id) {
            id
          }
          orders {
            data {
              id
            }
          }
          products {
            data {
              id
            }
          }
          product(id: $product) {
            id
          }
        }
      `,
      { id: orderId, product: productId },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ order: null, orders: { data: [] }, products: { data: [] }, product: null });
  });

  it('applies the same permissions as REST', async () => {
    const shopper = await addMember(testApp, admin, ['user']);
    const { body } = await graphql<{ products: { data: unknown[] } }>(
      shopper.auth,
      '{ products { data { id } } orders { data { id } } }',
    );
    expect(body.data).toBeNull();
    expect(body.errors?.[0]).toMatchObject({ extensions: { code: 'forbidden' } });
    const allowed = await graphql<{ products: { data: unknown[] } }>(
      shopper.auth,
      '{ products { data { id } } }',
    );
    expect(allowed.body.data?.products.data).toHaveLength(1);

    const staff = await addMember(testApp, admin, ['staff']);
    const noAnalytics = await graphql(staff.auth, '{ dashboard { orders } }');
    expect(noAnalytics.body.errors?.[0]?.extensions?.code).toBe('forbidden');

    const anonymous = await testApp.app.inject({
      method: 'POST',
      url: '/graphql',
      payload: { query: '{ me { id } }' },
    });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toMatchObject({ code: 'unauthenticated' });
  });

  it('answers a request without a query with 400, not an internal error', async () => {
    for (const url of ['/graphql', '/graphql?variables=%7B%7D']) {
      const response = await testApp.app.inject({ url, headers: admin.auth });
      expect(response.statusCode).toBe(400);
      expect(response.json().errors?.[0]?.extensions?.code).toBe('bad_request');
    }
  });

  /** A request as a client sends it: a JSON body (batches too), or a GET's query string. */
  const send = async (request: { body: unknown } | { query: Record<string, string> }) => {
    const response = await testApp.app.inject(
      'body' in request
        ? {
            method: 'POST',
            url: '/graphql',
            headers: { ...admin.auth, 'content-type': 'application/json' },
            payload: typeof request.body === 'string' ? request.body : JSON.stringify(request.body),
          }
        : { method: 'GET', url: '/graphql', headers: admin.auth, query: request.query },
    );
    return { status: response.statusCode, body: response.json<GraphqlAnswer>() };
  };
  const expectRefused = (answer: { status: number; body: GraphqlAnswer }, code: string, label: string) => {
    expect(answer.status, label).toBe(400);
    expect(answer.body.data ?? null, label).toBeNull();
    expect(answer.body.errors?.length, label).toBeGreaterThan(0);
    for (const error of answer.body.errors ?? []) expect(error.extensions?.code, label).toBe(code);
  };

  it('answers every document that does not parse or validate with 400 and coded errors', async () => {
    const documents: [query: string, code: string][] = [
      ['mutation {}', 'bad_request'],
      ['query {}', 'bad_request'],
      ['{}', 'bad_request'],
      ['{ me { id }', 'bad_request'],
      // JSON, which Mercurius takes for a parsed document.
      ['{"kind":"Document","definitions":[]}', 'bad_request'],
      ['{"kind":"Document","definitions":[{"kind":"Nonsense"}]}', 'bad_request'],
      ['{ unknown_field }', 'validation_failed'],
      // Two errors: each is coded, and the answer is still a 400.
      ['{ unknown_field other_unknown_field }', 'validation_failed'],
      // The schema defines no mutation or subscription type.
      ['mutation { me { id } }', 'validation_failed'],
      ['subscription { me { id } }', 'validation_failed'],
    ];
    for (const [query, code] of documents) {
      expectRefused(await send({ body: { query } }), code, `POST ${query}`);
      expectRefused(await send({ query: { query } }), code, `GET ${query}`);
    }
    for (const request of [{ body: { query: '{ me { id } }' } }, { query: { query: '{ me { id } }' } }]) {
      const valid = await send(request);
      expect(valid.status).toBe(200);
      expect(valid.body.errors).toBeUndefined();
    }
  });

  it('answers variables and operation names it cannot run with, and batches, with 400', async () => {
    const twoOperations = 'query A { me { id } } query B { me { email } }';
    const byId = 'query ($id: ID!) { order(id: $id) { id } }';
    const refusedPosts: [string, unknown][] = [
      ['a variable of the wrong type', { query: byId, variables: { id: { not: 'an id' } } }],
      ['a required variable with no variables at all', { query: byId }],
      ['a required variable given null', { query: byId, variables: { id: null } }],
      ['variables that are no object', { query: '{ me { id } }', variables: 'id' }],
      ['variables in a list', { query: '{ me { id } }', variables: [{}] }],
      ['an operation name naming no operation', { query: twoOperations, operationName: 'C' }],
      ['no operation name for two operations', { query: twoOperations }],
      ['a batch, which this server does not take', [{ query: '{ me { id } }' }]],
      [
        'variables nested deeper than any argument takes',
        `{"query":"{ me { id } }","variables":{"a":${'['.repeat(5000)}1${']'.repeat(5000)}}}`,
      ],
    ];
    for (const [label, body] of refusedPosts) expectRefused(await send({ body }), 'validation_failed', label);

    const refusedGets: [string, Record<string, string>][] = [
      ['an operation name naming no operation', { query: twoOperations, operationName: 'C' }],
      ['no operation name for two operations', { query: twoOperations }],
      ['variables that are a number', { query: '{ me { id } }', variables: '3' }],
      ['variables in a list', { query: '{ me { id } }', variables: '[{}]' }],
    ];
    for (const [label, query] of refusedGets) {
      expectRefused(await send({ query }), 'validation_failed', `GET with ${label}`);
    }

    const named = await send({ query: { query: twoOperations, operationName: 'B', variables: 'null' } });
    expect(named.status).toBe(200);
    expect(named.body.data).toEqual({ me: { email: admin.user.email } });
  });

  it('refuses bad arguments, too deep and too costly queries before running them', async () => {
    const bad = await graphql(admin.auth, '{ orders(limit: 500) { data { id } } }');
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('validation_failed');

    // This app allows 4 levels (GRAPHQL_MAX_DEPTH=4), fragments included.
    const fourLevels = await graphql(
      admin.auth,
      `
        query ($id: ID!) {
          order(id: $id) {
            payments {
              refunds {
                id
              }
            }
          }
        }
      `,
      {
        id: orderId,
      },
    );
    expect(fourLevels.body.errors).toBeUndefined();
    const fiveLevels = await graphql(
      admin.auth,
      `
        fragment P on Payment {
          refunds {
            id
          }
        }
        query {
          orders {
            data {
              payments {
                ...P
              }
            }
          }
        }
      `,
    );
    expect(fiveLevels.body.data).toBeNull();
    expect(fiveLevels.body.errors?.[0]?.extensions?.code).toBe('query_too_deep');

    const costly = await graphql(
      admin.auth,
      '{ orders(limit: 200) { data { id lines { sku } payments { id } history { id } } } }',
    );
    expect(costly.body.data).toBeNull();
    expect(costly.body.errors?.map((error) => error.extensions?.code)).toEqual(['query_too_costly']);
    // The same shape with a small page is cheap enough.
    const cheap = await graphql(
      admin.auth,
      '{ orders(limit: 5) { data { id lines { sku } payments { id } history { id } } } }',
    );
    expect(cheap.body.errors).toBeUndefined();
  });

  it('counts what a dashboard and recommendations read, and series and items at their length', async () => {
    const aliases = (count: number, field: string) =>
      `{ ${Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(' ')} }`;
    const dashboards = await graphql(admin.auth, aliases(20, 'dashboard { orders }'));
    expect(dashboards.status).toBe(400);
    expect(dashboards.body.errors?.map((error) => error.extensions?.code)).toEqual(['query_too_costly']);
    const recommendations = await graphql(
      admin.auth,
      aliases(20, 'recommendations(limit: 50) { items { product_id } }'),
    );
    expect(recommendations.body.errors?.map((error) => error.extensions?.code)).toEqual(['query_too_costly']);
    // 5,000 hourly points of three fields each.
    const longSeries = await graphql(
      admin.auth,
      '{ dashboard(from: "2026-01-01T00:00:00Z", to: "2026-07-28T08:00:00Z", interval: "hour") { series { bucket revenue orders } } }',
    );
    expect(longSeries.body.errors?.map((error) => error.extensions?.code)).toEqual(['query_too_costly']);

    const single = await graphql<{ dashboard: { series: unknown[] } }>(
      admin.auth,
      '{ dashboard(interval: "hour") { orders revenue series { bucket revenue orders } top_products { name } } recommendations(limit: 50) { items { product_id } } }',
    );
    expect(single.body.errors).toBeUndefined();
    expect(single.body.data!.dashboard.series.length).toBeGreaterThan(700);
  });

  it("prices a dashboard's range and a page's size at the values the variables give", async () => {
    const dashboard = /* GraphQL */ `
      query Series($from: String, $to: String, $interval: String) {
        dashboard(from: $from, to: $to, interval: $interval) {
          series {
            bucket
            revenue
            orders
          }
        }
      }
    `;
    const week = { from: '2026-03-01T00:00:00Z', to: '2026-03-08T00:00:00Z', interval: 'hour' };
    const costOf = async (variables?: object) => {
      const { status, body } = await send({
        body: { query: dashboard, ...(variables ? { variables } : {}) },
      });
      return { status, codes: body.errors?.map((error) => error.extensions?.code), body };
    };
    // 169 hourly points: accepted, as with literal dates.
    const weekly = await costOf(week);
    expect(weekly.codes).toBeUndefined();
    expect(
      (weekly.body.data as { dashboard: { series: unknown[] } }).dashboard.series.length,
    ).toBeGreaterThan(160);
    // The same text for 5,000 hours is refused as its literal form is, and a week still passes after:
    // the estimate is made per request, not cached with the document's validation.
    const longRange = { from: '2026-01-01T00:00:00Z', to: '2026-07-28T08:00:00Z' };
    expect(await costOf({ ...longRange, interval: 'hour' })).toMatchObject({
      status: 400,
      codes: ['query_too_costly'],
    });
    expect((await costOf({ ...longRange, interval: 'day' })).codes).toBeUndefined();
    expect((await costOf(week)).codes).toBeUndefined();
    // A bound whose variable has no value counts as the resolver takes it: the default range, the
    // 30 days before `to`, daily unless asked hourly.
    for (const variables of [undefined, {}, { to: week.to, interval: 'hour' }, { ...week, from: null }]) {
      expect(await costOf(variables), JSON.stringify(variables)).toMatchObject({
        status: 200,
        codes: undefined,
      });
    }
    expect(await costOf({ ...longRange, from: null, interval: 'hour' })).toMatchObject({ status: 200 });
    expect(await costOf({ to: longRange.to, from: longRange.from, interval: null })).toMatchObject({
      status: 200,
    });
    // A variable's default is its value; a date that is no date is refused as such, as a literal is.
    const defaults = dashboard.replace(
      '$from: String, $to: String, $interval: String',
      `$from: String = "${week.from}", $to: String = "${week.to}", $interval: String = "hour"`,
    );
    const withDefaults = await send({ body: { query: defaults } });
    expect(withDefaults.body.errors).toBeUndefined();
    expect((await costOf({ ...week, from: 'yesterday' })).codes).toEqual(['validation_failed']);

    const orders =
      'query ($n: Int) { orders(limit: $n) { data { id lines { sku } payments { id } history { id } } } }';
    const page = async (variables?: object) =>
      (await send({ body: { query: orders, ...(variables ? { variables } : {}) } })).body.errors?.map(
        (error) => error.extensions?.code,
      );
    expect(await page({ n: 5 })).toBeUndefined();
    expect(await page({ n: 200 })).toEqual(['query_too_costly']);
    // No value: the resolver's page of 50, priced as such.
    expect(await page()).toEqual(await page({ n: 50 }));
  });

  it('counts introspection: a standard introspection query runs, an aliased blow-up does not', async () => {
    const standard = await graphql<{ __schema: { types: unknown[] } }>(admin.auth, getIntrospectionQuery());
    expect(standard.status).toBe(200);
    expect(standard.body.errors).toBeUndefined();
    expect(standard.body.data!.__schema.types.length).toBeGreaterThan(20);

    const fields = Array.from({ length: 100 }, (_, i) => `a${i}: fields { name type { name } }`).join(' ');
    const blowUp = await graphql(admin.auth, `{ __schema { types { ${fields} } } }`);
    expect(blowUp.status).toBe(400);
    expect(blowUp.body.errors?.map((error) => error.extensions?.code)).toEqual(['query_too_costly']);
  });

  it('measures a fragment spread many times over once', async () => {
    // Each fragment spreads the next twice: 2^22 spreads, walked one by one, took seconds.
    let query = '{ me { ...F0 } }';
    for (let i = 0; i < 22; i++) query += ` fragment F${i} on Me { id ...F${i + 1} ...F${i + 1} }`;
    query += ' fragment F22 on Me { id }';
    const started = performance.now();
    const { body } = await graphql(admin.auth, query);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(body.errors?.map((error) => error.extensions?.code)).toEqual(['query_too_costly']);
  });

  it('refuses text the database cannot store, in a string literal or a variable, as a validation error', async () => {
    for (const literal of ['a\\u0000b', '\\u0000']) {
      const { status, body } = await graphql(admin.auth, `{ products(q: "${literal}") { data { id } } }`);
      expect(status, literal).toBe(400);
      expect(body.data ?? null).toBeNull();
      expect(body.errors?.map((error) => error.extensions?.code)).toEqual(['validation_failed']);
    }
    // A GET's variables come as JSON in the query string, past the JSON body guard.
    for (const q of ['a\u0000b', '\ud800']) {
      const response = await testApp.app.inject({
        method: 'GET',
        url: '/graphql',
        headers: admin.auth,
        query: {
          query: 'query ($q: String) { products(q: $q) { data { id } } }',
          variables: JSON.stringify({ q }),
        },
      });
      expect(response.statusCode, JSON.stringify(q)).toBe(400);
      expect(response.json<GraphqlAnswer>().errors?.map((error) => error.extensions?.code)).toEqual([
        'validation_failed',
      ]);
    }
    // Should any reach the database still, its refusal is the client's error, not an internal one.
    const list = vi
      .spyOn(testApp.modules.services.catalog, 'list')
      .mockRejectedValue(
        Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' }),
      );
    try {
      const { body } = await graphql(admin.auth, '{ products { data { id } } }');
      expect(body.errors?.map((error) => error.extensions?.code)).toEqual(['validation_failed']);
    } finally {
      list.mockRestore();
    }
  });

  it('checks dashboard times as REST does: real dates, with an offset', async () => {
    for (const from of ['2026-02-30T00:00:00Z', '2026-02-01T00:00:00', '2026-02-01', 'yesterday']) {
      const viaRest = await testApp.app.inject({
        url: `/api/analytics/dashboard?from=${encodeURIComponent(from)}`,
        headers: admin.auth,
      });
      expect(viaRest.statusCode, from).toBe(400);
      const { body } = await graphql(admin.auth, `{ dashboard(from: "${from}") { from } }`);
      expect(
        body.errors?.map((error) => error.extensions?.code),
        from,
      ).toEqual(['validation_failed']);
    }
    const { body } = await graphql<{ dashboard: { from: string } }>(
      admin.auth,
      '{ dashboard(from: "2026-02-01T00:00:00+01:00", to: "2026-02-28T00:00:00.5Z") { from } }',
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!.dashboard.from).toBe('2026-01-31T23:00:00.000Z');
  });

  it('refuses a query nested too deep to parse with a clear error', async () => {
    for (const query of [
      `{ ${'me { '.repeat(2000)}id${' }'.repeat(2000)} }`,
      `{ products(q: ${'['.repeat(2000)}"a"${']'.repeat(2000)}) { data { id } } }`,
    ]) {
      const { status, body } = await graphql(admin.auth, query);
      expect(status).toBe(400);
      expect(body.errors).toEqual([
        expect.objectContaining({
          message: expect.stringMatching(/^The query nests 2\d{3} levels/),
          extensions: { code: 'query_too_deep' },
        }),
      ]);
    }
    // Braces in strings and comments are no nesting.
    const braces = '{'.repeat(150);
    const { body } = await graphql(
      admin.auth,
      `{ products(q: "${braces}") { data { id } } # ${braces}\n products2: products(q: """${braces}\\"""""") { data { id } } }`,
    );
    expect(body.errors).toBeUndefined();
  });

  it("reads a page of orders' payments in one query", async () => {
    // Two more orders: one paid in two parts, one not paid.
    const paid = await rest<{ id: string; total: number }>(admin.auth, 'POST', '/commerce/orders', {
      lines: [{ product_id: productId, quantity: 2 }],
    });
    for (const amount of [100, paid.total - 100]) {
      await rest(admin.auth, 'POST', '/commerce/payments', {
        order_id: paid.id,
        amount,
        currency: 'EUR',
        gateway: 'manual',
      });
    }
    await rest(admin.auth, 'POST', '/commerce/orders', { lines: [{ product_id: productId, quantity: 1 }] });
    const payments = vi.spyOn(testApp.modules.services.payments, 'paymentsByOrder');
    try {
      const { body } = await graphql<{ orders: { data: { id: string; payments: { id: string }[] }[] } }>(
        admin.auth,
        '{ orders(limit: 20) { data { id payments { id } } } }',
      );
      expect(body.errors).toBeUndefined();
      const orders = body.data!.orders.data;
      expect(orders.length).toBeGreaterThan(1);
      expect(payments).toHaveBeenCalledTimes(1);
      for (const order of orders) {
        const viaRest = await rest<{ data: { id: string }[] }>(
          admin.auth,
          'GET',
          `/commerce/payments?order_id=${order.id}`,
        );
        expect(order.payments.map((payment) => payment.id)).toEqual(
          viaRest.data.map((payment) => payment.id),
        );
      }
      expect(orders.flatMap((order) => order.payments)).not.toHaveLength(0);
    } finally {
      payments.mockRestore();
    }
  });

  it("reads a page of orders' histories in one query, as REST has them", async () => {
    const cancelled = await rest<{ id: string }>(admin.auth, 'POST', '/commerce/orders', {
      lines: [{ product_id: productId, quantity: 1 }],
    });
    await rest(admin.auth, 'POST', `/commerce/orders/${cancelled.id}/cancel`, {});
    const histories = vi.spyOn(testApp.modules.services.orders, 'histories');
    const single = vi.spyOn(testApp.modules.services.orders, 'history');
    try {
      const { body } = await graphql<{ orders: { data: { id: string; history: { id: string }[] }[] } }>(
        admin.auth,
        '{ orders(limit: 20) { data { id history { id } } } }',
      );
      expect(body.errors).toBeUndefined();
      const orders = body.data!.orders.data;
      expect(orders.length).toBeGreaterThan(1);
      expect(histories).toHaveBeenCalledTimes(1);
      expect(single).not.toHaveBeenCalled();
      for (const order of orders) {
        const viaRest = await rest<{ data: { id: string }[] }>(
          admin.auth,
          'GET',
          `/commerce/orders/${order.id}/history`,
        );
        expect(order.history.map((entry) => entry.id)).toEqual(viaRest.data.map((entry) => entry.id));
      }
      expect(orders.find((order) => order.id === cancelled.id)?.history).toHaveLength(2);
    } finally {
      histories.mockRestore();
      single.mockRestore();
    }
  });
});

describe.runIf(postgresUp)('GraphQL refusals', () => {
  let testApp: TestApp;
  let admin: TestTenant;

  beforeAll(async () => {
    testApp = await createTestApp({ env: { RATE_LIMIT_USER_PER_MINUTE: '3' } });
    admin = await registerTenant(testApp);
  });
  afterAll(async () => {
    await testApp?.close();
  });

  const post = (payload: object) =>
    testApp.app.inject({ method: 'POST', url: '/graphql', headers: admin.auth, payload });

  it('answers a query that is JSON but no GraphQL as a syntax error, and a rate limit as 429 problem+json', async () => {
    // Mercurius takes JSON for a parsed document; "2" is neither.
    const notGraphql = await post({ query: '2' });
    expect(notGraphql.statusCode).toBe(400);
    expect(notGraphql.json<GraphqlAnswer>().errors).toEqual([
      expect.objectContaining({ extensions: { code: 'bad_request' } }),
    ]);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await post({ query: '{ me { id } }' }));
    const refused = answers.find((answer) => answer.statusCode === 429)!;
    expect(refused).toBeDefined();
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(refused.json()).toMatchObject({ code: 'rate_limited', status: 429 });
  });
});
