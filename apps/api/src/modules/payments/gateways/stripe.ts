import type { DisputeStatus } from '@tessera/contracts';
import Stripe from 'stripe';
import { fromGatewayUnits, toGatewayUnits, UnrepresentableAmount, type GatewayUnits } from '../money';
import {
  GatewayDeclined,
  UNSUPPORTED_AMOUNT_PRECISION,
  GatewayUnknown,
  InvalidWebhookSignature,
  type AdapterOptions,
  type CaptureRequest,
  type CardDetails,
  type CreatePaymentRequest,
  type GatewayPayment,
  type GatewayReference,
  type GatewayRefund,
  type GatewayRefundChange,
  type GatewayWebhookEvent,
  type PaymentGateway,
  type ReferenceRequest,
  type RefundRequest,
  type WebhookDelivery,
} from './types';

/** Stripe's accepted clock skew for webhook signatures. */
export const STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300;

/** Stripe's zero-decimal currencies (docs.stripe.com/currencies): MGA among them, though ISO 4217 gives it 2. */
const STRIPE_ZERO_DECIMAL = new Set([
  'BIF',
  'CLP',
  'DJF',
  'GNF',
  'JPY',
  'KMF',
  'KRW',
  'MGA',
  'PYG',
  'RWF',
  'VND',
  'VUV',
  'XAF',
  'XOF',
  'XPF',
]);
/** Three decimals, as ISO, but Stripe's payment partners need the last digit to be 0. */
const STRIPE_THREE_DECIMAL = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']);

/**
 * How Stripe counts a currency's amounts in payments and refunds. Every currency not listed is
 * two-decimal, and that includes Stripe's special cases ISK and UGX: zero-decimal in ISO 4217 and in
 * fact, but kept two-decimal for backwards compatibility (amount 100 = 1 ISK, always a multiple of
 * 100). HUF and TWD are special at Stripe for payouts only; their charges are two-decimal, as in ISO.
 */
export function stripeUnits(currency: string): GatewayUnits {
  const code = currency.toUpperCase();
  if (STRIPE_ZERO_DECIMAL.has(code)) return { exponent: 0 };
  if (STRIPE_THREE_DECIMAL.has(code)) return { exponent: 3, multipleOf: 10 };
  return { exponent: 2 };
}

/** Our ISO 4217 minor units → Stripe's; an amount Stripe cannot take exactly is a definite refusal. */
function toStripeAmount(amount: number, currency: string): number {
  try {
    return toGatewayUnits(amount, currency, stripeUnits(currency));
  } catch (error) {
    if (error instanceof UnrepresentableAmount)
      throw new GatewayDeclined(UNSUPPORTED_AMOUNT_PRECISION, `Stripe: ${error.message}`, null);
    throw error;
  }
}

const fromStripeAmount = (amount: number, currency: string): number =>
  fromGatewayUnits(amount, currency, stripeUnits(currency));

/** Stripe through its official SDK, pointed at STRIPE_API_BASE or the tenant's own base URL. */
export class StripeGateway implements PaymentGateway {
  readonly name = 'stripe' as const;
  private readonly stripe: Stripe;

  constructor(private readonly options: AdapterOptions) {
    const { secret_key, api_base } = options.credentials;
    if (!secret_key) throw new Error('Stripe needs a secret key');
    const base = api_base ? new URL(api_base) : null;
    this.stripe = new Stripe(secret_key, {
      timeout: options.timeoutMs,
      // A retry is ours to make (the reconciler, with the same idempotency key), not the SDK's.
      maxNetworkRetries: 0,
      telemetry: false,
      ...(base
        ? {
            host: base.hostname,
            port: base.port || (base.protocol === 'https:' ? 443 : 80),
            protocol: base.protocol === 'https:' ? 'https' : 'http',
          }
        : {}),
    });
  }

  async createPayment(request: CreatePaymentRequest): Promise<GatewayPayment> {
    const amount = toStripeAmount(request.amount, request.currency);
    return this.call(async () => {
      const intent = await this.stripe.paymentIntents.create(
        {
          amount,
          currency: request.currency.toLowerCase(),
          capture_method: request.capture ? 'automatic' : 'manual',
          confirm: true,
          ...(request.source ? { payment_method: request.source } : {}),
          metadata: { tessera_payment_id: request.paymentId, tessera_order_id: request.orderId },
        },
        { idempotencyKey: request.idempotencyKey },
      );
      return toPayment(intent);
    });
  }

  async capture(request: CaptureRequest): Promise<GatewayPayment> {
    const amount = toStripeAmount(request.amount, request.currency);
    return this.call(async () =>
      toPayment(
        await this.stripe.paymentIntents.capture(
          request.reference.id,
          { amount_to_capture: amount },
          { idempotencyKey: request.idempotencyKey },
        ),
      ),
    );
  }

  async void(request: ReferenceRequest): Promise<GatewayPayment> {
    return this.call(async () =>
      toPayment(
        await this.stripe.paymentIntents.cancel(
          request.reference.id,
          {},
          { idempotencyKey: request.idempotencyKey },
        ),
      ),
    );
  }

  async refund(request: RefundRequest): Promise<GatewayRefund> {
    const amount = toStripeAmount(request.amount, request.currency);
    return this.call(async () => {
      const refund = await this.stripe.refunds.create(
        {
          payment_intent: request.reference.id,
          amount,
          metadata: { tessera_refund_id: request.refundId },
        },
        { idempotencyKey: request.idempotencyKey },
      );
      return toRefund(refund);
    });
  }

  async fetchPaymentMethod(token: string): Promise<CardDetails> {
    return this.call(async () => {
      const method = await this.stripe.paymentMethods.retrieve(token);
      return {
        brand: method.card?.brand ?? null,
        last4: method.card?.last4 ?? null,
        exp_month: method.card?.exp_month ?? null,
        exp_year: method.card?.exp_year ?? null,
      };
    });
  }

  async retrieve(reference: GatewayReference): Promise<GatewayPayment | null> {
    try {
      return await this.call(async () => toPayment(await this.stripe.paymentIntents.retrieve(reference.id)));
    } catch (error) {
      if (error instanceof GatewayDeclined && error.code === 'resource_missing') return null;
      throw error;
    }
  }

  async retrieveRefund(reference: string): Promise<GatewayRefund | null> {
    try {
      return await this.call(async () => toRefund(await this.stripe.refunds.retrieve(reference)));
    } catch (error) {
      if (error instanceof GatewayDeclined && error.code === 'resource_missing') return null;
      throw error;
    }
  }

  async listPayments(from: Date, to: Date): Promise<GatewayPayment[]> {
    return this.call(async () => {
      const found: GatewayPayment[] = [];
      // Stripe stamps whole seconds: an intent of the period's last, partial second is stamped
      // before `to` although the floor of `to` would leave it out.
      const created = { gte: Math.floor(from.getTime() / 1000), lt: Math.ceil(to.getTime() / 1000) };
      // The charge says what was refunded: expanded, it comes with its intent.
      const intents = this.stripe.paymentIntents.list({
        created,
        limit: 100,
        expand: ['data.latest_charge'],
      });
      for await (const intent of intents) found.push(toPayment(intent));
      return found;
    });
  }

  async listRefunds(reference: GatewayReference): Promise<GatewayRefundChange[]> {
    return this.call(async () => {
      const found: GatewayRefundChange[] = [];
      for await (const refund of this.stripe.refunds.list({ payment_intent: reference.id, limit: 100 }))
        found.push(toRefundChange(refund));
      return found;
    });
  }

  async parseWebhook(delivery: WebhookDelivery): Promise<GatewayWebhookEvent> {
    const secret = this.options.credentials.webhook_secret;
    const header = delivery.headers['stripe-signature'];
    if (!secret || typeof header !== 'string') throw new InvalidWebhookSignature();
    let event: Stripe.Event;
    try {
      event = this.stripe.webhooks.constructEvent(
        delivery.rawBody,
        header,
        secret,
        STRIPE_WEBHOOK_TOLERANCE_SECONDS,
      );
    } catch (error) {
      throw new InvalidWebhookSignature(error instanceof Error ? error.message : undefined);
    }
    const parsed: GatewayWebhookEvent = { id: event.id, type: event.type };
    const object = event.data.object as { object?: string };
    if (object.object === 'payment_intent') {
      const intent = object as Stripe.PaymentIntent;
      const payment = toPayment(intent);
      parsed.payment = {
        reference: payment.reference.id,
        status: payment.status,
        amount_captured: payment.amount_captured,
        failure_code: payment.failure_code,
        failure_message: payment.failure_message,
        our_payment_id: intent.metadata?.tessera_payment_id ?? null,
      };
    } else if (object.object === 'refund') {
      parsed.refund = toRefundChange(object as Stripe.Refund);
    } else if (object.object === 'dispute') {
      const raw = object as Stripe.Dispute;
      const currency = raw.currency.toUpperCase();
      const dueBy = raw.evidence_details?.due_by;
      parsed.dispute = {
        reference: raw.id,
        payment_reference:
          typeof raw.payment_intent === 'string' ? raw.payment_intent : (raw.payment_intent?.id ?? null),
        amount: fromStripeAmount(raw.amount, currency),
        currency,
        reason: raw.reason,
        status: DISPUTE_STATUS[raw.status] ?? 'under_review',
        evidence_due_by: dueBy ? new Date(dueBy * 1000) : null,
      };
    }
    return parsed;
  }

  /**
   * Maps the SDK's errors: a card or request error is a definite no; anything else is unknown. A 409
   * is unknown whatever its type: another request with this idempotency key is still running
   * (`idempotency_key_in_use`), and its outcome is this one's.
   */
  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof Stripe.errors.StripeError) {
        const definite =
          error.statusCode !== 409 &&
          (error instanceof Stripe.errors.StripeCardError ||
            error instanceof Stripe.errors.StripeInvalidRequestError ||
            error instanceof Stripe.errors.StripeIdempotencyError ||
            error instanceof Stripe.errors.StripeAuthenticationError ||
            error instanceof Stripe.errors.StripePermissionError);
        if (definite) {
          const raw = error.raw as { payment_intent?: { id?: string } } | undefined;
          throw new GatewayDeclined(
            error.decline_code ?? error.code ?? error.type,
            error.message,
            error.raw,
            raw?.payment_intent?.id ?? null,
          );
        }
        throw new GatewayUnknown(`Stripe: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }
}

const INTENT_STATUS: Record<Stripe.PaymentIntent.Status, GatewayPayment['status']> = {
  requires_capture: 'authorized',
  succeeded: 'completed',
  canceled: 'voided',
  requires_payment_method: 'pending',
  requires_action: 'pending',
  requires_confirmation: 'pending',
  processing: 'pending',
};

/**
 * Stripe's dispute statuses: `warning_*` are inquiries, which close without a chargeback; an
 * `appeal_*` is a lost dispute taken further. One Stripe adds later is taken to be under review.
 */
const DISPUTE_STATUS: Record<string, DisputeStatus> = {
  warning_needs_response: 'needs_response',
  needs_response: 'needs_response',
  appeal_needs_response: 'needs_response',
  warning_under_review: 'under_review',
  under_review: 'under_review',
  appeal_under_review: 'under_review',
  warning_closed: 'won',
  won: 'won',
  lost: 'lost',
  prevented: 'won',
};

/** An intent in our terms: its amounts converted from Stripe's units back to ISO 4217 minor units. */
function toPayment(intent: Stripe.PaymentIntent): GatewayPayment {
  const currency = intent.currency.toUpperCase();
  const iso = (amount: number) => fromStripeAmount(amount, currency);
  const authorized = intent.status === 'requires_capture' ? iso(intent.amount_capturable) : 0;
  const captured = intent.status === 'succeeded' ? iso(intent.amount_received) : 0;
  // Known where the charge is expanded (listings); webhooks and retrievals carry its id only.
  const charge = typeof intent.latest_charge === 'object' ? intent.latest_charge : null;
  const refunded = charge ? iso(charge.amount_refunded) : 0;
  const lastError = intent.last_payment_error;
  const status: GatewayPayment['status'] =
    intent.status === 'requires_payment_method'
      ? lastError
        ? 'failed'
        : 'pending'
      : intent.status === 'succeeded' && refunded > 0
        ? refunded >= captured
          ? 'refunded'
          : 'partially_refunded'
        : (INTENT_STATUS[intent.status] ?? 'pending');
  const redirect = intent.next_action?.redirect_to_url?.url;
  return {
    reference: { id: intent.id },
    status,
    amount: iso(intent.amount),
    currency,
    amount_authorized: authorized || (status === 'completed' ? captured : 0),
    amount_captured: captured,
    amount_refunded: refunded,
    next_action:
      status === 'pending' && intent.next_action
        ? redirect
          ? { type: 'redirect', url: redirect }
          : { type: 'customer_action', detail: intent.next_action.type }
        : null,
    failure_code:
      status === 'failed' ? (lastError?.decline_code ?? lastError?.code ?? 'payment_failed') : null,
    failure_message: status === 'failed' ? (lastError?.message ?? null) : null,
    created_at: new Date(intent.created * 1000),
    raw: intent,
  };
}

function toRefund(refund: Stripe.Refund): GatewayRefund {
  const status =
    refund.status === 'succeeded'
      ? 'processed'
      : refund.status === 'failed' || refund.status === 'canceled'
        ? 'failed'
        : 'pending';
  return {
    reference: refund.id,
    status,
    failure_code: status === 'failed' ? (refund.failure_reason ?? 'refund_failed') : null,
    raw: refund,
  };
}

/** A refund as the webhooks and the refund list tell of it, in ISO 4217 minor units. */
function toRefundChange(raw: Stripe.Refund): GatewayRefundChange {
  const refund = toRefund(raw);
  const currency = raw.currency.toUpperCase();
  return {
    reference: refund.reference,
    status: refund.status,
    failure_code: refund.failure_code,
    payment_reference:
      typeof raw.payment_intent === 'string' ? raw.payment_intent : (raw.payment_intent?.id ?? null),
    amount: fromStripeAmount(raw.amount, currency),
    currency,
    our_refund_id: raw.metadata?.tessera_refund_id ?? null,
    description: 'Refunded in Stripe',
  };
}
