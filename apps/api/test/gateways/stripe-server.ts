import { createHmac } from 'node:crypto';
import {
  FakeHttpServer,
  IdempotencyStore,
  randomId,
  type FakeRequest,
  type FakeResponse,
} from './fake-server';

type Params = { [key: string]: string | Params };

/** Stripe's form encoding: `a[b][c]=v` bracket params into nested objects. */
export function parseStripeForm(body: string): Params {
  const out: Params = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const path = key.split(/\[|\]\[|\]/).filter(Boolean);
    let node = out;
    path.forEach((part, index) => {
      if (index === path.length - 1) node[part] = value;
      else node = (node[part] ??= {}) as Params;
    });
  }
  return out;
}

interface Intent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_capturable: number;
  amount_received: number;
  currency: string;
  capture_method: 'automatic' | 'manual';
  status: string;
  created: number;
  metadata: Record<string, string>;
  payment_method: string | null;
  last_payment_error: null | { type: string; code: string; decline_code: string; message: string };
  next_action: null;
  latest_charge: string | null;
  livemode: false;
}

/** A charge: what was captured and refunded of its intent (listings can expand it into the intent). */
interface Charge {
  id: string;
  object: 'charge';
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  captured: boolean;
  refunded: boolean;
  currency: string;
  payment_intent: string;
  status: 'succeeded';
  created: number;
}

const CARDS: Record<string, { brand: string; last4: string; decline?: string }> = {
  pm_card_visa: { brand: 'visa', last4: '4242' },
  pm_card_mastercard: { brand: 'mastercard', last4: '4444' },
  pm_card_chargeDeclined: { brand: 'visa', last4: '0002', decline: 'generic_decline' },
  pm_card_chargeDeclinedInsufficientFunds: { brand: 'visa', last4: '9995', decline: 'insufficient_funds' },
};

/** Zero-decimal in fact, two-decimal at Stripe for backwards compatibility: amounts are multiples of 100. */
const WHOLE_UNITS_AS_TWO_DECIMALS = new Set(['isk', 'ugx']);
/** Three-decimal currencies: Stripe's payment partners need the last digit to be 0. */
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

/** Stripe's checks of an amount in its units of a currency (docs.stripe.com/currencies, special cases). */
function invalidAmount(amount: number, currency: string): FakeResponse | null {
  if (WHOLE_UNITS_AS_TWO_DECIMALS.has(currency) && amount % 100 !== 0)
    return error(
      400,
      'invalid_request_error',
      `Invalid amount. Currency ${currency.toUpperCase()} has become effectively zero-decimal and charged ` +
        'amounts must be evenly divisible by 100. See https://stripe.com/docs/currencies#zero-decimal for more information.',
      undefined,
      'amount',
    );
  if (THREE_DECIMAL.has(currency) && amount % 10 !== 0)
    return error(
      400,
      'invalid_request_error',
      `Invalid amount. ${currency.toUpperCase()} amounts must be rounded to the nearest ten (the last digit must be 0).`,
      undefined,
      'amount',
    );
  return null;
}

/**
 * Speaks Stripe's wire format: form-encoded bracket params, `Idempotency-Key` replay (and
 * `idempotency_error` for a reused key with other params, 409 `idempotency_key_in_use` while the
 * key's first request is still running), error objects with type/code/decline_code,
 * amounts in Stripe's units of the currency (ISK and UGX ×100, three-decimal ending in 0, checked as
 * Stripe does), and webhooks signed as `Stripe-Signature: t=...,v1=HMAC-SHA256(t.body)`.
 */
export class FakeStripe {
  readonly intents = new Map<string, Intent>();
  readonly charges = new Map<string, Charge>();
  readonly refunds = new Map<
    string,
    {
      id: string;
      object: 'refund';
      amount: number;
      currency: string;
      payment_intent: string;
      status: string;
      metadata: Params;
      created: number;
    }
  >();
  readonly server: FakeHttpServer;
  /** Keyed requests; `idempotency.slowNext` keeps a key in use a while (a concurrent request gets 409). */
  readonly idempotency = new IdempotencyStore();

  constructor(
    readonly secretKey = 'sk_test_tessera',
    readonly webhookSecret = 'whsec_tessera',
  ) {
    this.server = new FakeHttpServer((request) => this.handle(request), 'idempotency-key');
  }

  start(): Promise<string> {
    return this.server.start();
  }

  close(): Promise<void> {
    return this.server.close();
  }

  /** A signed event delivery, as Stripe would POST it. */
  webhook(type: string, object: unknown, options: { timestamp?: number; secret?: string; id?: string } = {}) {
    const event = {
      id: options.id ?? randomId('evt_'),
      object: 'event',
      api_version: '2025-01-27.acacia',
      created: Math.floor(Date.now() / 1000),
      type,
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      data: { object },
    };
    const body = JSON.stringify(event);
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    const signature = createHmac('sha256', options.secret ?? this.webhookSecret)
      .update(`${timestamp}.${body}`)
      .digest('hex');
    return {
      body,
      headers: { 'content-type': 'application/json', 'stripe-signature': `t=${timestamp},v1=${signature}` },
    };
  }

  private async handle(request: FakeRequest): Promise<FakeResponse> {
    if (request.headers.authorization !== `Bearer ${this.secretKey}`) {
      return error(401, 'invalid_request_error', 'Invalid API Key provided');
    }
    const key = request.headers['idempotency-key'];
    if (request.method === 'POST' && typeof key === 'string') {
      return this.idempotency.answer(key, `${request.path}|${request.rawBody}`, () => this.route(request), {
        mismatch: error(
          400,
          'idempotency_error',
          'Keys for idempotent requests can only be used with the same parameters.',
        ),
        inUse: error(
          409,
          'invalid_request_error',
          'There is currently another in-progress request using this Idempotent Key (probably means ' +
            'you clicked twice and the first request is still being processed). Please try again later.',
          'idempotency_key_in_use',
        ),
        replay: (stored) => ({ ...stored, headers: { 'idempotent-replayed': 'true' } }),
      });
    }
    return this.route(request);
  }

  private route(request: FakeRequest): FakeResponse {
    const params = parseStripeForm(request.rawBody);
    const parts = request.path.split('/').filter(Boolean);
    if (parts[0] !== 'v1') return error(404, 'invalid_request_error', 'Unrecognized request URL');
    const [, resource, id, action] = parts;
    if (resource === 'payment_intents') {
      if (request.method === 'POST' && !id) return this.createIntent(params);
      if (request.method === 'GET' && !id) return this.listIntents(request.query);
      const intent = id ? this.intents.get(id) : undefined;
      if (!intent)
        return error(404, 'invalid_request_error', `No such payment_intent: '${id}'`, 'resource_missing');
      if (request.method === 'GET') return ok(intent);
      if (action === 'capture') {
        if (intent.status !== 'requires_capture') {
          return error(
            400,
            'invalid_request_error',
            `This PaymentIntent could not be captured because it has a status of ${intent.status}.`,
            'payment_intent_unexpected_state',
          );
        }
        const amount = params.amount_to_capture ? Number(params.amount_to_capture) : intent.amount_capturable;
        const invalid = invalidAmount(amount, intent.currency);
        if (invalid) return invalid;
        if (amount > intent.amount_capturable) {
          return error(
            400,
            'invalid_request_error',
            'amount_to_capture is greater than amount_capturable',
            'amount_too_large',
          );
        }
        Object.assign(intent, { status: 'succeeded', amount_received: amount, amount_capturable: 0 });
        Object.assign(this.chargeOf(intent), { captured: true, amount_captured: amount });
        return ok(intent);
      }
      if (action === 'cancel') {
        if (intent.status === 'succeeded' || intent.status === 'canceled') {
          return error(
            400,
            'invalid_request_error',
            `You cannot cancel this PaymentIntent because it has a status of ${intent.status}.`,
            'payment_intent_unexpected_state',
          );
        }
        Object.assign(intent, { status: 'canceled', amount_capturable: 0 });
        return ok(intent);
      }
    }
    if (resource === 'refunds' && request.method === 'POST') {
      const intent = this.intents.get(text(params.payment_intent));
      if (!intent) return error(404, 'invalid_request_error', 'No such payment_intent', 'resource_missing');
      const already = [...this.refunds.values()]
        .filter((refund) => refund.payment_intent === intent.id)
        .reduce((sum, refund) => sum + refund.amount, 0);
      const amount = params.amount ? Number(params.amount) : intent.amount_received - already;
      const invalid = invalidAmount(amount, intent.currency);
      if (invalid) return invalid;
      if (intent.status !== 'succeeded' || already + amount > intent.amount_received) {
        return error(
          400,
          'invalid_request_error',
          'Refund amount is greater than unrefunded amount on charge',
          'charge_already_refunded',
        );
      }
      const refund = {
        id: randomId('re_'),
        object: 'refund' as const,
        amount,
        currency: intent.currency,
        payment_intent: intent.id,
        status: 'succeeded',
        metadata: typeof params.metadata === 'object' ? params.metadata : {},
        created: now(),
      };
      this.refunds.set(refund.id, refund);
      const charge = this.chargeOf(intent);
      charge.amount_refunded += amount;
      charge.refunded = charge.amount_refunded >= charge.amount_captured;
      return ok(refund);
    }
    if (resource === 'refunds' && request.method === 'GET' && !id) {
      const intent = request.query.get('payment_intent');
      const data = [...this.refunds.values()].filter((refund) => !intent || refund.payment_intent === intent);
      return ok({ object: 'list', data, has_more: false, url: '/v1/refunds' });
    }
    if (resource === 'refunds' && request.method === 'GET' && id) {
      const refund = this.refunds.get(id);
      return refund
        ? ok(refund)
        : error(404, 'invalid_request_error', `No such refund: '${id}'`, 'resource_missing');
    }
    if (resource === 'payment_methods' && request.method === 'GET' && id) {
      const card = CARDS[id];
      if (!card)
        return error(404, 'invalid_request_error', `No such PaymentMethod: '${id}'`, 'resource_missing');
      return ok({
        id,
        object: 'payment_method',
        type: 'card',
        card: { brand: card.brand, last4: card.last4, exp_month: 12, exp_year: 2030 },
        created: now(),
      });
    }
    return error(404, 'invalid_request_error', 'Unrecognized request URL');
  }

  private chargeOf(intent: Intent): Charge {
    return this.charges.get(intent.latest_charge!)!;
  }

  private createIntent(params: Params): FakeResponse {
    const amount = Number(params.amount);
    if (!Number.isInteger(amount) || amount < 1)
      return error(400, 'invalid_request_error', 'Invalid integer: amount', 'parameter_invalid_integer');
    const invalid = invalidAmount(amount, text(params.currency));
    if (invalid) return invalid;
    const method = typeof params.payment_method === 'string' ? params.payment_method : null;
    const manual = params.capture_method === 'manual';
    const intent: Intent = {
      id: randomId('pi_'),
      object: 'payment_intent',
      amount,
      amount_capturable: 0,
      amount_received: 0,
      currency: text(params.currency),
      capture_method: manual ? 'manual' : 'automatic',
      status: 'requires_payment_method',
      created: now(),
      metadata: (params.metadata as Record<string, string> | undefined) ?? {},
      payment_method: method,
      last_payment_error: null,
      next_action: null,
      latest_charge: null,
      livemode: false,
    };
    this.intents.set(intent.id, intent);
    const card = method ? CARDS[method] : undefined;
    if (!card)
      return error(
        400,
        'invalid_request_error',
        'A payment method is required to confirm',
        'payment_intent_unexpected_state',
      );
    if (card.decline) {
      intent.last_payment_error = {
        type: 'card_error',
        code: 'card_declined',
        decline_code: card.decline,
        message: 'Your card was declined.',
      };
      return {
        status: 402,
        body: {
          error: {
            type: 'card_error',
            code: 'card_declined',
            decline_code: card.decline,
            message: 'Your card was declined.',
            payment_intent: intent,
          },
        },
      };
    }
    const charge: Charge = {
      id: randomId('ch_'),
      object: 'charge',
      amount,
      amount_captured: manual ? 0 : amount,
      amount_refunded: 0,
      captured: !manual,
      refunded: false,
      currency: intent.currency,
      payment_intent: intent.id,
      status: 'succeeded',
      created: now(),
    };
    this.charges.set(charge.id, charge);
    intent.latest_charge = charge.id;
    if (manual) Object.assign(intent, { status: 'requires_capture', amount_capturable: amount });
    else Object.assign(intent, { status: 'succeeded', amount_received: amount });
    return ok(intent);
  }

  private listIntents(query: URLSearchParams): FakeResponse {
    const gte = Number(query.get('created[gte]') ?? 0);
    const lt = Number(query.get('created[lt]') ?? Number.MAX_SAFE_INTEGER);
    // `expand[0]=data.latest_charge`, as stripe-node encodes an array: the charge in place of its id.
    const expandCharge = [...query].some(
      ([key, value]) => /^expand\[\d*\]$/.test(key) && value === 'data.latest_charge',
    );
    const data = [...this.intents.values()]
      .filter((intent) => intent.created >= gte && intent.created < lt)
      .map((intent) =>
        expandCharge && intent.latest_charge
          ? { ...intent, latest_charge: this.charges.get(intent.latest_charge) }
          : intent,
      );
    return ok({ object: 'list', data, has_more: false, url: '/v1/payment_intents' });
  }
}

const text = (value: string | Params | undefined): string => (typeof value === 'string' ? value : '');
const now = () => Math.floor(Date.now() / 1000);
const ok = (body: unknown): FakeResponse => ({ status: 200, body });
function error(status: number, type: string, message: string, code?: string, param?: string): FakeResponse {
  return {
    status,
    body: { error: { type, message, ...(code ? { code } : {}), ...(param ? { param } : {}) } },
  };
}
