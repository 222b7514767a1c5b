import { createHmac } from 'node:crypto';
import {
  FakeHttpServer,
  IdempotencyStore,
  randomId,
  type FakeRequest,
  type FakeResponse,
} from './fake-server';

interface Money {
  currency_code: string;
  value: string;
}
interface Item {
  id: string;
  status: string;
  status_details?: { reason: string };
  amount: Money;
  create_time: string;
  supplementary_data: { related_ids: { order_id: string; authorization_id?: string } };
  /** Authorizations and captures: their purchase unit's custom_id. */
  custom_id?: string;
  /** Refunds: ours carry our refund id here. */
  invoice_id?: string;
  /** Refunds: `self`, and `up` (the capture). */
  links?: { href: string; rel: string; method: string }[];
}
interface Order {
  id: string;
  intent: 'AUTHORIZE' | 'CAPTURE';
  status: 'CREATED' | 'APPROVED' | 'COMPLETED' | 'VOIDED';
  create_time: string;
  purchase_units: {
    reference_id?: string;
    custom_id?: string;
    amount: Money;
    payments?: { authorizations?: Item[]; captures?: Item[]; refunds?: Item[] };
  }[];
  links: { href: string; rel: string; method: string }[];
}

/** Currencies PayPal takes without decimals (its currency codes page): "1500.00" HUF is an error. */
const NO_DECIMALS = new Set(['HUF', 'JPY', 'TWD']);
/** PayPal stamps times in whole seconds: "2024-05-01T10:00:00Z". */
const stamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
/** The transaction report's rows carry their time as "2024-05-01T10:00:00+0000". */
const reportTime = (time: string) => new Date(time).toISOString().replace(/\.\d{3}Z$/, '+0000');
/** The report's transaction_status of a capture: S(uccess), P(ending), D(enied). */
const REPORT_STATUS: Record<string, string> = {
  COMPLETED: 'S',
  PARTIALLY_REFUNDED: 'S',
  REFUNDED: 'S',
  PENDING: 'P',
  DECLINED: 'D',
  FAILED: 'D',
};

/**
 * Speaks PayPal's REST wire format: OAuth client credentials first, then JSON with
 * `PayPal-Request-Id` replay (409 PREVIOUS_REQUEST_IN_PROGRESS while the first request with it
 * runs), Orders v2 (approve link, authorize, capture), Payments v2 (capture/void an
 * authorization, refund a capture), the transaction report, and webhook
 * verification through /v1/notifications/verify-webhook-signature. Amounts are validated as PayPal
 * does (DECIMALS_NOT_SUPPORTED for HUF/JPY/TWD, DECIMAL_PRECISION past two decimals); captures can
 * be left PENDING with a reason and settled later; a refund moves its capture to
 * PARTIALLY_REFUNDED or REFUNDED.
 */
export class FakePayPal {
  readonly orders = new Map<string, Order>();
  readonly server: FakeHttpServer;
  /** The next authorize/capture of an order is declined (INSTRUMENT_DECLINED). */
  declineNext = false;
  /** The most rows a transaction report page holds, whatever page_size asks (PayPal's is 500). */
  reportPageSize = 500;
  /** The report lists each capture twice, as PayPal may (a balance-affecting and another row). */
  reportTwice = false;
  /** Every transaction report page asked for: its window and page number. */
  readonly reportRequests: { start: string; end: string; page: number }[] = [];
  /** The next capture (of an order or an authorization) is left in this state, e.g. PENDING for review. */
  nextCapture: { status: 'PENDING' | 'DECLINED'; reason: string } | null = null;
  /** Keyed requests; `idempotency.slowNext` keeps a key in use a while (a concurrent request gets 409). */
  readonly idempotency = new IdempotencyStore();
  private readonly accessTokens = new Set<string>();

  constructor(
    readonly clientId = 'paypal-client',
    readonly clientSecret = 'paypal-secret',
    readonly webhookId = 'WH-TESSERA',
    private readonly signingSecret = 'paypal-signing-secret',
  ) {
    this.server = new FakeHttpServer((request) => this.handle(request), 'paypal-request-id');
  }

  start(): Promise<string> {
    return this.server.start();
  }

  close(): Promise<void> {
    return this.server.close();
  }

  /** The buyer approves the order at PayPal. */
  approve(orderId: string): Order {
    const order = this.orders.get(orderId)!;
    order.status = 'APPROVED';
    return order;
  }

  /** PayPal settles a PENDING capture: COMPLETED (the money came) or DECLINED. */
  settleCapture(captureId: string, status: 'COMPLETED' | 'DECLINED'): Item {
    const { item } = this.findItem('captures', captureId)!;
    item.status = status;
    delete item.status_details;
    return item;
  }

  webhook(
    eventType: string,
    resource: unknown,
    options: { id?: string; tamper?: boolean; resourceType?: string } = {},
  ) {
    const event = {
      id: options.id ?? randomId('WH-', 10),
      event_type: eventType,
      resource_type: options.resourceType ?? 'checkout-order',
      create_time: new Date().toISOString(),
      resource,
    };
    const body = JSON.stringify(event);
    const transmissionId = randomId('', 16);
    const time = new Date().toISOString();
    const signature = this.sign(transmissionId, time, this.webhookId, event);
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'paypal-transmission-id': transmissionId,
        'paypal-transmission-time': time,
        'paypal-transmission-sig': options.tamper
          ? signature.replace(/^./, signature[0] === 'A' ? 'B' : 'A')
          : signature,
        'paypal-auth-algo': 'SHA256withRSA',
        'paypal-cert-url': `${this.server.baseUrl}/certs/CERT-1`,
      },
    };
  }

  private sign(transmissionId: string, time: string, webhookId: string, event: unknown): string {
    return createHmac('sha256', this.signingSecret)
      .update(`${transmissionId}|${time}|${webhookId}|${JSON.stringify(event)}`)
      .digest('base64');
  }

  private handle(request: FakeRequest): FakeResponse | Promise<FakeResponse> {
    if (request.path === '/v1/oauth2/token') {
      const expected = `Basic ${Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64')}`;
      if (
        request.headers.authorization !== expected ||
        !request.rawBody.includes('grant_type=client_credentials')
      ) {
        return {
          status: 401,
          body: { error: 'invalid_client', error_description: 'Client Authentication failed' },
        };
      }
      const token = randomId('A21AA', 16);
      this.accessTokens.add(token);
      return ok({
        scope: 'https://uri.paypal.com/services/payments/payment',
        access_token: token,
        token_type: 'Bearer',
        app_id: 'APP-1',
        expires_in: 32400,
        nonce: randomId('', 8),
      });
    }
    const bearer = request.headers.authorization?.replace(/^Bearer /, '');
    if (!bearer || !this.accessTokens.has(bearer))
      return failure(401, 'AUTHENTICATION_FAILURE', 'INVALID_TOKEN');
    const key = request.headers['paypal-request-id'];
    if (request.method === 'POST' && typeof key === 'string') {
      return this.idempotency.answer(key, `${request.path}|${request.rawBody}`, () => this.route(request), {
        mismatch: failure(422, 'UNPROCESSABLE_ENTITY', 'DUPLICATE_REQUEST_ID'),
        inUse: failure(409, 'RESOURCE_CONFLICT', 'PREVIOUS_REQUEST_IN_PROGRESS'),
      });
    }
    return this.route(request);
  }

  private route(request: FakeRequest): FakeResponse {
    const body = request.rawBody ? (JSON.parse(request.rawBody) as Record<string, unknown>) : {};
    const parts = request.path.split('/').filter(Boolean);
    if (request.path === '/v2/checkout/orders' && request.method === 'POST') return this.createOrder(body);
    if (parts[0] === 'v2' && parts[1] === 'checkout' && parts[2] === 'orders' && parts[3]) {
      const order = this.orders.get(parts[3]);
      if (!order) return failure(404, 'RESOURCE_NOT_FOUND', 'INVALID_RESOURCE_ID');
      if (request.method === 'GET') return ok(order);
      const action = parts[4];
      if (action === 'authorize' || action === 'capture') {
        if (order.status !== 'APPROVED') return failure(422, 'UNPROCESSABLE_ENTITY', 'ORDER_NOT_APPROVED');
        if (this.declineNext) {
          this.declineNext = false;
          return failure(422, 'UNPROCESSABLE_ENTITY', 'INSTRUMENT_DECLINED');
        }
        const unit = order.purchase_units[0]!;
        const item: Item =
          action === 'authorize'
            ? {
                id: randomId('AUTH', 8).toUpperCase(),
                status: 'CREATED',
                amount: unit.amount,
                create_time: stamp(),
                supplementary_data: { related_ids: { order_id: order.id } },
                ...(unit.custom_id ? { custom_id: unit.custom_id } : {}),
              }
            : this.newCapture(unit.amount, { order_id: order.id }, unit.custom_id);
        unit.payments = action === 'authorize' ? { authorizations: [item] } : { captures: [item] };
        order.status = 'COMPLETED';
        return { status: 201, body: order };
      }
    }
    if (parts[0] === 'v2' && parts[1] === 'payments' && parts[2] === 'authorizations' && parts[3]) {
      const found = this.findItem('authorizations', parts[3]);
      if (!found) return failure(404, 'RESOURCE_NOT_FOUND', 'INVALID_RESOURCE_ID');
      const { order, item } = found;
      if (parts[4] === 'void') {
        if (item.status !== 'CREATED') return failure(422, 'UNPROCESSABLE_ENTITY', 'PREVIOUSLY_CAPTURED');
        item.status = 'VOIDED';
        return { status: 204 };
      }
      if (parts[4] === 'capture') {
        if (item.status !== 'CREATED') return failure(422, 'UNPROCESSABLE_ENTITY', 'AUTHORIZATION_VOIDED');
        const amount = (body.amount as Money | undefined) ?? item.amount;
        const invalid = invalidAmount(amount);
        if (invalid) return invalid;
        if (Number(amount.value) > Number(item.amount.value))
          return failure(422, 'UNPROCESSABLE_ENTITY', 'CAPTURE_AMOUNT_EXCEEDS_AUTHORIZED');
        item.status = 'CAPTURED';
        const capture = this.newCapture(
          amount,
          { order_id: order.id, authorization_id: item.id },
          order.purchase_units[0]!.custom_id,
        );
        (order.purchase_units[0]!.payments!.captures ??= []).push(capture);
        return { status: 201, body: capture };
      }
    }
    if (
      parts[0] === 'v2' &&
      parts[1] === 'payments' &&
      parts[2] === 'captures' &&
      parts[3] &&
      parts[4] === 'refund'
    ) {
      const found = this.findItem('captures', parts[3]);
      if (!found) return failure(404, 'RESOURCE_NOT_FOUND', 'INVALID_RESOURCE_ID');
      const amount = (body.amount as Money | undefined) ?? found.item.amount;
      const invalid = invalidAmount(amount);
      if (invalid) return invalid;
      if (found.item.status === 'PENDING') return failure(422, 'UNPROCESSABLE_ENTITY', 'PENDING_CAPTURE');
      if (found.item.status === 'REFUNDED')
        return failure(422, 'UNPROCESSABLE_ENTITY', 'CAPTURE_FULLY_REFUNDED');
      if (found.item.status !== 'COMPLETED' && found.item.status !== 'PARTIALLY_REFUNDED')
        return failure(422, 'UNPROCESSABLE_ENTITY', 'REFUND_NOT_ALLOWED');
      const refunds = (found.order.purchase_units[0]!.payments!.refunds ??= []);
      const already = refunds.reduce((sum, refund) => sum + Number(refund.amount.value), 0);
      if (already + Number(amount.value) > Number(found.item.amount.value) + 1e-9)
        return failure(422, 'UNPROCESSABLE_ENTITY', 'REFUND_AMOUNT_EXCEEDED');
      const refundId = randomId('REF', 8).toUpperCase();
      const refund: Item = {
        id: refundId,
        status: 'COMPLETED',
        amount,
        ...(typeof body.invoice_id === 'string' ? { invoice_id: body.invoice_id } : {}),
        create_time: stamp(),
        supplementary_data: { related_ids: { order_id: found.order.id } },
        links: [
          { href: `${this.server.baseUrl}/v2/payments/refunds/${refundId}`, rel: 'self', method: 'GET' },
          { href: `${this.server.baseUrl}/v2/payments/captures/${found.item.id}`, rel: 'up', method: 'GET' },
        ],
      };
      refunds.push(refund);
      // As PayPal does: the capture shows what is left of it.
      found.item.status =
        already + Number(amount.value) >= Number(found.item.amount.value) - 1e-9
          ? 'REFUNDED'
          : 'PARTIALLY_REFUNDED';
      return { status: 201, body: refund };
    }
    if (parts[0] === 'v2' && parts[1] === 'payments' && parts[2] === 'refunds' && parts[3]) {
      const found = this.findItem('refunds', parts[3]);
      return found ? ok(found.item) : failure(404, 'RESOURCE_NOT_FOUND', 'INVALID_RESOURCE_ID');
    }
    if (request.path === '/v1/reporting/transactions' && request.method === 'GET') {
      const start = request.query.get('start_date') ?? '';
      const end = request.query.get('end_date') ?? '';
      if (!(Date.parse(end) - Date.parse(start) <= REPORT_WINDOW_MS))
        return failure(400, 'INVALID_REQUEST', 'Date range is greater than 31 days');
      const pageSize = Math.min(Number(request.query.get('page_size') ?? 100), this.reportPageSize);
      const page = Number(request.query.get('page') ?? 1);
      // Compared as times, not strings: PayPal stamps whole seconds and the bounds may carry milliseconds.
      const inRange = (item: Item) => {
        const time = Date.parse(item.create_time);
        return time >= Date.parse(start) && time < Date.parse(end);
      };
      // Captures are Checkout API payments (T0006); refunds (T1107) are rows of their own, their
      // amount negative, naming their capture.
      const rows = [...this.orders.values()].flatMap((order) => {
        const payments = order.purchase_units[0]?.payments;
        const captures = (payments?.captures ?? []).filter(inRange).map((capture) => ({
          transaction_id: capture.id,
          transaction_event_code: 'T0006',
          transaction_amount: capture.amount,
          transaction_status: REPORT_STATUS[capture.status] ?? 'P',
          transaction_initiation_date: reportTime(capture.create_time),
        }));
        const refunds = (payments?.refunds ?? []).filter(inRange).map((refund) => ({
          transaction_id: refund.id,
          transaction_event_code: 'T1107',
          transaction_amount: { ...refund.amount, value: `-${refund.amount.value}` },
          transaction_status: REPORT_STATUS[refund.status] ?? 'P',
          transaction_initiation_date: reportTime(refund.create_time),
          paypal_reference_id: refund.links
            ?.find((link) => link.rel === 'up')
            ?.href.split('/')
            .pop(),
        }));
        return [...captures, ...refunds];
      });
      const all = rows.flatMap((row) => (this.reportTwice ? [row, row] : [row]));
      this.reportRequests.push({ start, end, page });
      const transaction_details = all
        .slice((page - 1) * pageSize, page * pageSize)
        .map((transaction_info) => ({ transaction_info }));
      return ok({
        transaction_details,
        total_items: all.length,
        page,
        total_pages: Math.max(1, Math.ceil(all.length / pageSize)),
      });
    }
    if (request.path === '/v1/notifications/verify-webhook-signature' && request.method === 'POST') {
      const expected = this.sign(
        String(body.transmission_id),
        String(body.transmission_time),
        String(body.webhook_id),
        body.webhook_event,
      );
      const valid = body.webhook_id === this.webhookId && body.transmission_sig === expected;
      return ok({ verification_status: valid ? 'SUCCESS' : 'FAILURE' });
    }
    return failure(404, 'RESOURCE_NOT_FOUND', 'INVALID_RESOURCE_ID');
  }

  private createOrder(body: Record<string, unknown>): FakeResponse {
    const units = body.purchase_units as Order['purchase_units'];
    const intent = body.intent as Order['intent'];
    if (!units?.[0]?.amount || (intent !== 'AUTHORIZE' && intent !== 'CAPTURE'))
      return failure(400, 'INVALID_REQUEST', 'MISSING_REQUIRED_PARAMETER');
    const invalid = invalidAmount(units[0].amount);
    if (invalid) return invalid;
    const id = randomId('', 8).toUpperCase();
    const order: Order = {
      id,
      intent,
      status: 'CREATED',
      create_time: stamp(),
      purchase_units: units.map((unit) => ({ ...unit })),
      links: [
        { href: `${this.server.baseUrl}/v2/checkout/orders/${id}`, rel: 'self', method: 'GET' },
        { href: `https://www.sandbox.paypal.com/checkoutnow?token=${id}`, rel: 'approve', method: 'GET' },
      ],
    };
    this.orders.set(id, order);
    return { status: 201, body: order };
  }

  /** A capture, COMPLETED unless `nextCapture` says otherwise. */
  private newCapture(
    amount: Money,
    related: Item['supplementary_data']['related_ids'],
    customId: string | undefined,
  ): Item {
    const next = this.nextCapture;
    this.nextCapture = null;
    return {
      id: randomId('CAP', 8).toUpperCase(),
      status: next?.status ?? 'COMPLETED',
      ...(next ? { status_details: { reason: next.reason } } : {}),
      amount,
      create_time: stamp(),
      supplementary_data: { related_ids: related },
      ...(customId ? { custom_id: customId } : {}),
    };
  }

  private findItem(
    kind: 'authorizations' | 'captures' | 'refunds',
    id: string,
  ): { order: Order; item: Item } | null {
    for (const order of this.orders.values()) {
      const item = order.purchase_units[0]?.payments?.[kind]?.find((candidate) => candidate.id === id);
      if (item) return { order, item };
    }
    return null;
  }
}

const REPORT_WINDOW_MS = 31 * 86_400_000;

/** PayPal's checks of a money value: whole units for HUF/JPY/TWD, at most two decimals otherwise. */
function invalidAmount(money: Money): FakeResponse | null {
  const [, fraction = ''] = money.value.split('.');
  if (NO_DECIMALS.has(money.currency_code) && money.value.includes('.'))
    return failure(422, 'UNPROCESSABLE_ENTITY', 'DECIMALS_NOT_SUPPORTED');
  if (fraction.length > 2) return failure(422, 'UNPROCESSABLE_ENTITY', 'DECIMAL_PRECISION');
  return null;
}
const ok = (body: unknown): FakeResponse => ({ status: 200, body });
function failure(status: number, name: string, issue: string): FakeResponse {
  return {
    status,
    body: { name, message: issue, debug_id: randomId('', 6), details: [{ issue, description: issue }] },
  };
}
