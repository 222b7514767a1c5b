import { createHmac } from 'node:crypto';
import {
  FakeHttpServer,
  IdempotencyStore,
  randomId,
  type FakeRequest,
  type FakeResponse,
} from './fake-server';

interface Money {
  amount: number;
  currency: string;
}
interface SquarePayment {
  id: string;
  status: 'APPROVED' | 'COMPLETED' | 'CANCELED' | 'FAILED';
  amount_money: Money;
  approved_money: Money;
  total_money: Money;
  refunded_money?: Money;
  /** Every refund of the payment, as Square lists them on it. */
  refund_ids?: string[];
  source_type: 'CARD';
  reference_id?: string;
  idempotency_key: string;
  card_details: {
    status: string;
    card: { card_brand: string; last_4: string; exp_month: number; exp_year: number };
    errors?: { category: string; code: string; detail: string }[];
  };
  location_id: string;
  created_at: string;
  updated_at: string;
}
interface SquareCheckout {
  id: string;
  status: 'PENDING' | 'IN_PROGRESS' | 'CANCEL_REQUESTED' | 'CANCELED' | 'COMPLETED';
  amount_money: Money;
  reference_id?: string;
  device_options: { device_id: string };
  payment_ids?: string[];
  created_at: string;
  updated_at: string;
}

export const SQUARE_DECLINED_NONCE = 'cnon:card-nonce-declined';

/** The seller's main location: where a payment is taken, and what ListPayments lists, when no location_id is given. */
export const SQUARE_MAIN_LOCATION = 'MAIN';
const YEAR_MS = 365 * 86_400_000;

/**
 * Speaks Square's Connect v2 wire format: snake_case JSON, `idempotency_key` in the body (at most
 * 45 characters, 64 for Terminal checkouts; a reused key replays; with other params it is
 * IDEMPOTENCY_KEY_REUSED; while its first request runs, 409 CONFLICT),
 * `{ errors: [{ category, code, detail }] }`, Terminal checkouts, and notifications signed with base64 HMAC-SHA256 over URL + body. ListPayments
 * lists one location (the main one unless `location_id` names another), created in
 * [begin_time, end_time) (default: the year before now), newest first unless sort_order=ASC, at most
 * `limit` (≤ 100) a page with a `cursor` for the next page.
 */
export class FakeSquare {
  readonly payments = new Map<string, SquarePayment>();
  readonly checkouts = new Map<string, SquareCheckout>();
  readonly refunds = new Map<
    string,
    { id: string; status: string; amount_money: Money; payment_id: string }
  >();
  readonly server: FakeHttpServer;
  /** The status new refunds get (Square often answers PENDING, then COMPLETED by webhook). */
  refundStatus: 'COMPLETED' | 'PENDING' = 'COMPLETED';
  /** The most payments a ListPayments page holds, whatever `limit` asks (Square's is 100). */
  listPageSize = 100;
  /** Every ListPayments page asked for, by its query. */
  readonly listRequests: URLSearchParams[] = [];
  /** Keyed requests; `idempotency.slowNext` keeps a key in use a while (a concurrent request gets 409). */
  readonly idempotency = new IdempotencyStore();
  private readonly byKey = new Map<string, string>();

  constructor(
    readonly accessToken = 'EAAA-tessera',
    readonly signatureKey = 'square-signature-key',
  ) {
    this.server = new FakeHttpServer((request) => this.handle(request), null);
  }

  start(): Promise<string> {
    return this.server.start();
  }

  close(): Promise<void> {
    return this.server.close();
  }

  /** The device pays the checkout: a COMPLETED card payment appears and the checkout completes. */
  completeCheckout(checkoutId: string, locationId = SQUARE_MAIN_LOCATION): SquareCheckout {
    const checkout = this.checkouts.get(checkoutId)!;
    const payment = this.newPayment(
      checkout.amount_money,
      'COMPLETED',
      `terminal:${checkoutId}`,
      checkout.reference_id,
      locationId,
    );
    Object.assign(checkout, {
      status: 'COMPLETED',
      payment_ids: [payment.id],
      updated_at: new Date().toISOString(),
    });
    return checkout;
  }

  /** A payment taken elsewhere (another location, the dashboard, another time), straight into the store. */
  addPayment(amount: Money, locationId: string, createdAt: Date): SquarePayment {
    const payment = this.newPayment(amount, 'COMPLETED', randomId('elsewhere:'), undefined, locationId);
    payment.created_at = payment.updated_at = createdAt.toISOString();
    return payment;
  }

  webhook(
    type: string,
    objectType: 'payment' | 'refund' | 'checkout' | 'dispute',
    object: { id: string },
    notificationUrl: string,
    eventId = randomId('', 16),
  ) {
    const body = JSON.stringify({
      merchant_id: 'MERCHANT',
      type,
      event_id: eventId,
      created_at: new Date().toISOString(),
      data: { type: objectType, id: object.id, object: { [objectType]: object } },
    });
    const signature = createHmac('sha256', this.signatureKey)
      .update(notificationUrl + body)
      .digest('base64');
    return {
      body,
      headers: { 'content-type': 'application/json', 'x-square-hmacsha256-signature': signature },
    };
  }

  private handle(request: FakeRequest): FakeResponse | Promise<FakeResponse> {
    if (request.headers.authorization !== `Bearer ${this.accessToken}`) {
      return errors(401, 'AUTHENTICATION_ERROR', 'UNAUTHORIZED', 'This request could not be authorized.');
    }
    const body = request.rawBody ? (JSON.parse(request.rawBody) as Record<string, unknown>) : {};
    const key = typeof body.idempotency_key === 'string' ? body.idempotency_key : null;
    const longest = request.path.startsWith('/v2/terminals/') ? 64 : 45;
    if (key && key.length > longest)
      return errors(
        400,
        'INVALID_REQUEST_ERROR',
        'VALUE_TOO_LONG',
        `Field must not be greater than ${longest} length`,
      );
    // CancelPaymentByIdempotencyKey names another request's key; it is not a key of its own.
    if (key && request.method !== 'GET' && request.path !== '/v2/payments/cancel') {
      const fingerprint = `${request.method} ${request.path}|${JSON.stringify({ ...body, idempotency_key: undefined })}`;
      return this.idempotency.answer(key, fingerprint, () => this.route(request, body), {
        mismatch: errors(
          400,
          'INVALID_REQUEST_ERROR',
          'IDEMPOTENCY_KEY_REUSED',
          'The idempotency key was reused with other parameters.',
        ),
        inUse: errors(
          409,
          'INVALID_REQUEST_ERROR',
          'CONFLICT',
          'Another request with this idempotency key is in progress.',
        ),
      });
    }
    return this.route(request, body);
  }

  private route(request: FakeRequest, body: Record<string, unknown>): FakeResponse {
    const parts = request.path.split('/').filter(Boolean);
    const [version, resource, id, action] = parts;
    if (version !== 'v2') return notFound();
    if (resource === 'payments') {
      if (request.method === 'POST' && !id) return this.createPayment(body);
      if (request.method === 'GET' && !id) return this.listPayments(request.query);
      if (id === 'cancel' && request.method === 'POST') {
        const paymentId = this.byKey.get(String(body.idempotency_key));
        const payment = paymentId ? this.payments.get(paymentId) : undefined;
        if (payment && payment.status === 'APPROVED') payment.status = 'CANCELED';
        return ok({});
      }
      const payment = id ? this.payments.get(id) : undefined;
      if (!payment) return notFound();
      if (request.method === 'GET') return ok({ payment });
      if (request.method === 'PUT') {
        const next = (body.payment as { amount_money?: Money } | undefined)?.amount_money;
        if (payment.status !== 'APPROVED')
          return errors(
            400,
            'INVALID_REQUEST_ERROR',
            'BAD_REQUEST',
            'Only approved payments can be updated.',
          );
        if (next) {
          if (next.amount > payment.approved_money.amount)
            return errors(
              400,
              'INVALID_REQUEST_ERROR',
              'INVALID_VALUE',
              'amount_money exceeds approved_money',
            );
          payment.amount_money = next;
          payment.total_money = next;
        }
        return ok({ payment });
      }
      if (action === 'complete') {
        if (payment.status === 'COMPLETED') return ok({ payment });
        if (payment.status !== 'APPROVED')
          return errors(400, 'INVALID_REQUEST_ERROR', 'BAD_REQUEST', `Payment is ${payment.status}`);
        Object.assign(payment, { status: 'COMPLETED', updated_at: new Date().toISOString() });
        return ok({ payment });
      }
      if (action === 'cancel') {
        if (payment.status === 'CANCELED') return ok({ payment });
        if (payment.status !== 'APPROVED')
          return errors(400, 'INVALID_REQUEST_ERROR', 'BAD_REQUEST', `Payment is ${payment.status}`);
        Object.assign(payment, { status: 'CANCELED', updated_at: new Date().toISOString() });
        return ok({ payment });
      }
    }
    if (resource === 'refunds' && request.method === 'POST') {
      const payment = this.payments.get(String(body.payment_id));
      const amount = body.amount_money as Money;
      if (!payment) return notFound();
      const refunded = payment.refunded_money?.amount ?? 0;
      if (payment.status !== 'COMPLETED' || refunded + amount.amount > payment.amount_money.amount) {
        return errors(400, 'INVALID_REQUEST_ERROR', 'REFUND_AMOUNT_INVALID', 'The refund amount is invalid.');
      }
      payment.refunded_money = { amount: refunded + amount.amount, currency: amount.currency };
      const refund = {
        id: randomId('rf_'),
        status: this.refundStatus,
        amount_money: amount,
        payment_id: payment.id,
        created_at: new Date().toISOString(),
      };
      this.refunds.set(refund.id, refund);
      payment.refund_ids = [...(payment.refund_ids ?? []), refund.id];
      return ok({ refund });
    }
    if (resource === 'refunds' && request.method === 'GET' && id) {
      const refund = this.refunds.get(id);
      return refund ? ok({ refund }) : notFound();
    }
    if (resource === 'cards' && request.method === 'GET' && id) {
      return ok({
        card: { id, card_brand: 'VISA', last_4: '1111', exp_month: 11, exp_year: 2031, enabled: true },
      });
    }
    if (resource === 'terminals' && id === 'checkouts') {
      const checkoutId = action;
      if (request.method === 'POST' && !checkoutId) {
        const input = body.checkout as {
          amount_money: Money;
          reference_id?: string;
          device_options: { device_id: string };
        };
        const now = new Date().toISOString();
        const checkout: SquareCheckout = {
          id: randomId('chk_'),
          status: 'PENDING',
          amount_money: input.amount_money,
          ...(input.reference_id ? { reference_id: input.reference_id } : {}),
          device_options: input.device_options,
          created_at: now,
          updated_at: now,
        };
        this.checkouts.set(checkout.id, checkout);
        return ok({ checkout });
      }
      const checkout = checkoutId ? this.checkouts.get(checkoutId) : undefined;
      if (!checkout) return notFound();
      if (request.method === 'GET') return ok({ checkout });
      if (parts[4] === 'cancel') {
        if (checkout.status === 'COMPLETED')
          return errors(400, 'INVALID_REQUEST_ERROR', 'BAD_REQUEST', 'Checkout already completed');
        checkout.status = 'CANCELED';
        return ok({ checkout });
      }
    }
    return notFound();
  }

  private createPayment(body: Record<string, unknown>): FakeResponse {
    const amount = body.amount_money as Money;
    if (!amount || !(amount.amount > 0))
      return errors(400, 'INVALID_REQUEST_ERROR', 'INVALID_VALUE', 'amount_money is required');
    const location = typeof body.location_id === 'string' ? body.location_id : SQUARE_MAIN_LOCATION;
    if (body.source_id === SQUARE_DECLINED_NONCE) {
      const payment = this.newPayment(
        amount,
        'FAILED',
        String(body.idempotency_key),
        body.reference_id as string | undefined,
        location,
      );
      payment.card_details.errors = [
        {
          category: 'PAYMENT_METHOD_ERROR',
          code: 'GENERIC_DECLINE',
          detail: 'Authorization error: GENERIC_DECLINE',
        },
      ];
      return {
        status: 400,
        body: { errors: payment.card_details.errors, payment },
      };
    }
    const status = body.autocomplete === false ? 'APPROVED' : 'COMPLETED';
    return ok({
      payment: this.newPayment(
        amount,
        status,
        String(body.idempotency_key),
        body.reference_id as string | undefined,
        location,
      ),
    });
  }

  private listPayments(query: URLSearchParams): FakeResponse {
    this.listRequests.push(query);
    const location = query.get('location_id') ?? SQUARE_MAIN_LOCATION;
    const end = query.has('end_time') ? Date.parse(query.get('end_time')!) : Date.now();
    const begin = query.has('begin_time') ? Date.parse(query.get('begin_time')!) : end - YEAR_MS;
    if (Number.isNaN(begin) || Number.isNaN(end))
      return errors(400, 'INVALID_REQUEST_ERROR', 'BAD_REQUEST', 'Invalid begin_time or end_time');
    const ascending = query.get('sort_order') === 'ASC';
    const matching = [...this.payments.values()]
      .filter((payment) => {
        const created = Date.parse(payment.created_at);
        return payment.location_id === location && created >= begin && created < end;
      })
      .sort((a, b) => (Date.parse(a.created_at) - Date.parse(b.created_at)) * (ascending ? 1 : -1));
    const limit = Math.min(Number(query.get('limit') ?? 100), 100, this.listPageSize);
    // The cursor is opaque to clients; here it is the offset of the next page.
    const offset = query.has('cursor')
      ? Number(Buffer.from(query.get('cursor')!, 'base64url').toString())
      : 0;
    const payments = matching.slice(offset, offset + limit);
    const next =
      offset + limit < matching.length ? Buffer.from(String(offset + limit)).toString('base64url') : null;
    // An empty page is `{}`, as Square answers it.
    return ok({ ...(payments.length ? { payments } : {}), ...(next ? { cursor: next } : {}) });
  }

  private newPayment(
    amount: Money,
    status: SquarePayment['status'],
    key: string,
    referenceId: string | undefined,
    locationId: string = SQUARE_MAIN_LOCATION,
  ): SquarePayment {
    const now = new Date().toISOString();
    const payment: SquarePayment = {
      id: randomId('sqp_'),
      status,
      amount_money: amount,
      approved_money: amount,
      total_money: amount,
      source_type: 'CARD',
      ...(referenceId ? { reference_id: referenceId } : {}),
      idempotency_key: key,
      card_details: {
        status: status === 'FAILED' ? 'FAILED' : 'CAPTURED',
        card: { card_brand: 'VISA', last_4: '1111', exp_month: 11, exp_year: 2031 },
      },
      location_id: locationId,
      created_at: now,
      updated_at: now,
    };
    this.payments.set(payment.id, payment);
    this.byKey.set(key, payment.id);
    return payment;
  }
}

const ok = (body: unknown): FakeResponse => ({ status: 200, body });
const notFound = () => errors(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', 'Resource not found');
function errors(status: number, category: string, code: string, detail: string): FakeResponse {
  return { status, body: { errors: [{ category, code, detail }] } };
}
