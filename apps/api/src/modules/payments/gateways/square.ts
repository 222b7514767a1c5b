import type { DisputeStatus } from '@tessera/contracts';
import type { Square, SquareClient } from 'square';
import type * as SquareSdk from 'square';

let sdk: Promise<typeof SquareSdk> | null = null;
/** The SDK is large (about 70 MiB loaded): loaded on first use, so a process that never pays through Square never holds it. */
const loadSdk = () => (sdk ??= import('square'));
import {
  GatewayDeclined,
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

const money = (amount: number, currency: string): Square.Money => ({
  amount: BigInt(amount),
  currency: currency as Square.Currency,
});
const minor = (value: Square.Money | undefined | null): number => Number(value?.amount ?? 0);

/** Square card payments through the official SDK (v46), against SQUARE_API_BASE or the tenant's base URL. */
export class SquareGateway implements PaymentGateway {
  readonly name: 'square' | 'square_terminal' = 'square';
  private client: Promise<SquareClient> | null = null;

  constructor(protected readonly options: AdapterOptions) {
    if (!options.credentials.access_token) throw new Error('Square needs an access token');
  }

  private sdkClient(): Promise<SquareClient> {
    const { access_token, api_base } = this.options.credentials;
    return (this.client ??= loadSdk().then(
      ({ SquareClient }) =>
        new SquareClient({
          token: access_token,
          ...(api_base ? { baseUrl: api_base.replace(/\/$/, '') } : {}),
          timeoutInSeconds: this.options.timeoutMs / 1000,
          maxRetries: 0,
        }),
    ));
  }

  async createPayment(request: CreatePaymentRequest): Promise<GatewayPayment> {
    if (!request.source)
      throw new GatewayDeclined('missing_source', 'Square needs a card nonce or card id', null);
    const { location_id } = this.options.credentials;
    return this.call(async (client) => {
      const response = await client.payments.create({
        idempotencyKey: request.idempotencyKey,
        sourceId: request.source!,
        amountMoney: money(request.amount, request.currency),
        autocomplete: request.capture,
        referenceId: request.paymentId,
        note: `Order ${request.orderId}`,
        ...(location_id ? { locationId: location_id } : {}),
      });
      return toPayment(response.payment!);
    });
  }

  async capture(request: CaptureRequest): Promise<GatewayPayment> {
    return this.call(async (client) => {
      const current = await client.payments.get({ paymentId: request.reference.id });
      // CompletePayment takes no amount: a partial capture first lowers the approved amount.
      if (minor(current.payment?.amountMoney) !== request.amount) {
        await client.payments.update({
          paymentId: request.reference.id,
          idempotencyKey: `${request.idempotencyKey}:amount`,
          payment: { amountMoney: money(request.amount, request.currency) },
        });
      }
      const response = await client.payments.complete({ paymentId: request.reference.id });
      return toPayment(response.payment!);
    });
  }

  async void(request: ReferenceRequest): Promise<GatewayPayment> {
    return this.call(async (client) =>
      toPayment((await client.payments.cancel({ paymentId: request.reference.id })).payment!),
    );
  }

  /**
   * For a create whose outcome stayed unknown and that we give up on: Square cancels it by key, and
   * this answers what became of it. Square cannot cancel a completed payment, so the payment is
   * looked for by our id (its reference_id) among the location's payments since the first attempt;
   * null when Square never had it.
   */
  async cancelByIdempotencyKey(
    idempotencyKey: string,
    paymentId: string,
    firstAttemptAt: Date,
  ): Promise<GatewayPayment | null> {
    await this.call((client) => client.payments.cancelByIdempotencyKey({ idempotencyKey }));
    const since = await this.listPayments(
      new Date(firstAttemptAt.getTime() - 60_000),
      new Date(Date.now() + 60_000),
    );
    return since.find((found) => (found.raw as Square.Payment).referenceId === paymentId) ?? null;
  }

  async refund(request: RefundRequest): Promise<GatewayRefund> {
    return this.call(async (client) => {
      const response = await client.refunds.refundPayment({
        idempotencyKey: request.idempotencyKey,
        paymentId: request.reference.payment_id ?? request.reference.id,
        amountMoney: money(request.amount, request.currency),
        ...(request.reason ? { reason: request.reason } : {}),
      });
      return toRefund(response.refund!);
    });
  }

  async fetchPaymentMethod(token: string): Promise<CardDetails> {
    return this.call(async (client) => {
      const { card } = await client.cards.get({ cardId: token });
      return {
        brand: card?.cardBrand ?? null,
        last4: card?.last4 ?? null,
        exp_month: card?.expMonth == null ? null : Number(card.expMonth),
        exp_year: card?.expYear == null ? null : Number(card.expYear),
      };
    });
  }

  async retrieve(reference: GatewayReference): Promise<GatewayPayment | null> {
    try {
      return await this.call(async (client) =>
        toPayment((await client.payments.get({ paymentId: reference.id })).payment!),
      );
    } catch (error) {
      if (error instanceof GatewayDeclined && error.code === 'NOT_FOUND') return null;
      throw error;
    }
  }

  /**
   * The payments of [from, to) at the configured location, every page (the SDK follows the cursor).
   * Square lists the seller's main location when no location id is given, whereas createPayment
   * takes payments at the configured one: without it, their payments would be missed.
   */
  async retrieveRefund(reference: string): Promise<GatewayRefund | null> {
    try {
      return await this.call(async (client) =>
        toRefund((await client.refunds.get({ refundId: reference })).refund!),
      );
    } catch (error) {
      if (error instanceof GatewayDeclined && error.code === 'NOT_FOUND') return null;
      throw error;
    }
  }

  /** Square lists refunds by time only; a payment names its own, and each is read. */
  async listRefunds(reference: GatewayReference): Promise<GatewayRefundChange[]> {
    return this.call(async (client) => {
      const { payment } = await client.payments.get({ paymentId: reference.payment_id ?? reference.id });
      const found: GatewayRefundChange[] = [];
      for (const refundId of payment?.refundIds ?? []) {
        const { refund } = await client.refunds.get({ refundId });
        if (refund) found.push(toRefundChange(refund));
      }
      return found;
    });
  }

  async listPayments(from: Date, to: Date): Promise<GatewayPayment[]> {
    const { location_id } = this.options.credentials;
    return this.call(async (client) => {
      const found: GatewayPayment[] = [];
      const page = await client.payments.list({
        beginTime: from.toISOString(),
        endTime: to.toISOString(),
        ...(location_id ? { locationId: location_id } : {}),
      });
      for await (const payment of page) found.push(toPayment(payment));
      return found;
    });
  }

  async parseWebhook(delivery: WebhookDelivery): Promise<GatewayWebhookEvent> {
    const key = this.options.credentials.webhook_signature_key;
    const header = delivery.headers['x-square-hmacsha256-signature'];
    if (!key || typeof header !== 'string') throw new InvalidWebhookSignature();
    const { WebhooksHelper } = await loadSdk();
    const valid = await WebhooksHelper.verifySignature({
      requestBody: delivery.rawBody,
      signatureHeader: header,
      signatureKey: key,
      notificationUrl: delivery.url,
    });
    if (!valid) throw new InvalidWebhookSignature();
    return parseSquareEvent(delivery.rawBody);
  }

  protected async call<T>(work: (client: SquareClient) => Promise<T>): Promise<T> {
    const client = await this.sdkClient();
    try {
      return await work(client);
    } catch (error) {
      const { SquareError, SquareTimeoutError } = await loadSdk();
      if (error instanceof SquareTimeoutError)
        throw new GatewayUnknown('Square: timed out', { cause: error });
      // A 409: another request with this idempotency key is still running; its outcome is this one's.
      if (
        error instanceof SquareError &&
        error.statusCode &&
        error.statusCode < 500 &&
        error.statusCode !== 429 &&
        error.statusCode !== 409
      ) {
        const first = error.errors[0];
        const body = error.body as { payment?: { id?: string } } | undefined;
        throw new GatewayDeclined(
          first?.code ?? 'BAD_REQUEST',
          first?.detail ?? error.message,
          error.body,
          body?.payment?.id ?? null,
        );
      }
      if (error instanceof GatewayDeclined) throw error;
      throw new GatewayUnknown(`Square: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
  }
}

/** Square Terminal: a checkout pushed to a device; the payment stays pending until it completes. */
export class SquareTerminalGateway extends SquareGateway {
  override readonly name = 'square_terminal' as const;

  override async createPayment(request: CreatePaymentRequest): Promise<GatewayPayment> {
    const deviceId = this.options.credentials.device_id;
    if (!deviceId)
      throw new GatewayDeclined('missing_device', 'No Square Terminal device is configured', null);
    return this.call(async (client) => {
      const response = await client.terminal.checkouts.create({
        idempotencyKey: request.idempotencyKey,
        checkout: {
          amountMoney: money(request.amount, request.currency),
          referenceId: request.paymentId,
          deviceOptions: { deviceId },
        },
      });
      return checkoutToPayment(response.checkout!);
    });
  }

  override async capture(): Promise<GatewayPayment> {
    throw new GatewayDeclined('unsupported', 'Terminal checkouts complete on the device', null);
  }

  override async void(request: ReferenceRequest): Promise<GatewayPayment> {
    return this.call(async (client) =>
      checkoutToPayment(
        (await client.terminal.checkouts.cancel({ checkoutId: request.reference.id })).checkout!,
      ),
    );
  }

  override async retrieve(reference: GatewayReference): Promise<GatewayPayment | null> {
    try {
      return await this.call(async (client) =>
        checkoutToPayment((await client.terminal.checkouts.get({ checkoutId: reference.id })).checkout!),
      );
    } catch (error) {
      if (error instanceof GatewayDeclined && error.code === 'NOT_FOUND') return null;
      throw error;
    }
  }
}

function toPayment(payment: Square.Payment): GatewayPayment {
  const amount = minor(payment.amountMoney);
  const currency = payment.amountMoney?.currency ?? 'USD';
  const status: GatewayPayment['status'] =
    payment.status === 'APPROVED'
      ? 'authorized'
      : payment.status === 'COMPLETED'
        ? minor(payment.refundedMoney) >= amount && amount > 0
          ? 'refunded'
          : minor(payment.refundedMoney) > 0
            ? 'partially_refunded'
            : 'completed'
        : payment.status === 'CANCELED'
          ? 'voided'
          : payment.status === 'FAILED'
            ? 'failed'
            : 'pending';
  const cardError = payment.cardDetails?.errors?.[0];
  return {
    reference: { id: payment.id! },
    status,
    amount,
    currency,
    amount_authorized:
      status === 'pending' || status === 'failed' || status === 'voided'
        ? 0
        : minor(payment.approvedMoney ?? payment.amountMoney),
    amount_captured:
      status === 'completed' || status === 'refunded' || status === 'partially_refunded' ? amount : 0,
    amount_refunded: minor(payment.refundedMoney),
    next_action: null,
    failure_code: status === 'failed' ? (cardError?.code ?? 'GENERIC_DECLINE') : null,
    failure_message: status === 'failed' ? (cardError?.detail ?? null) : null,
    created_at: new Date(payment.createdAt ?? Date.now()),
    raw: payment,
  };
}

function checkoutToPayment(checkout: Square.TerminalCheckout): GatewayPayment {
  const amount = minor(checkout.amountMoney);
  const status: GatewayPayment['status'] =
    checkout.status === 'COMPLETED' ? 'completed' : checkout.status === 'CANCELED' ? 'voided' : 'pending';
  return {
    reference: {
      id: checkout.id!,
      ...(checkout.paymentIds?.[0] ? { payment_id: checkout.paymentIds[0] } : {}),
    },
    status,
    amount,
    currency: checkout.amountMoney.currency ?? 'USD',
    amount_authorized: status === 'completed' ? amount : 0,
    amount_captured: status === 'completed' ? amount : 0,
    amount_refunded: 0,
    next_action:
      status === 'pending'
        ? {
            type: 'terminal_checkout',
            checkout_id: checkout.id!,
            device_id: checkout.deviceOptions.deviceId ?? null,
          }
        : null,
    failure_code: null,
    failure_message: null,
    created_at: new Date(checkout.createdAt ?? Date.now()),
    raw: checkout,
  };
}

function toRefundChange(refund: Square.PaymentRefund): GatewayRefundChange {
  const { reference, status, failure_code } = toRefund(refund);
  return {
    reference,
    status,
    failure_code,
    payment_reference: refund.paymentId ?? null,
    amount: minor(refund.amountMoney),
    currency: refund.amountMoney.currency ?? '',
    // Square's refunds carry nothing of ours to tell them by.
    our_refund_id: null,
    description: 'Refunded in Square',
  };
}

function toRefund(refund: Square.PaymentRefund): GatewayRefund {
  const status =
    refund.status === 'COMPLETED'
      ? 'processed'
      : refund.status === 'FAILED' || refund.status === 'REJECTED'
        ? 'failed'
        : 'pending';
  return {
    reference: refund.id,
    status,
    failure_code: status === 'failed' ? refund.status! : null,
    raw: refund,
  };
}

interface SquareWireMoney {
  amount?: number;
  currency?: string;
}

/** Square's dispute states; `INQUIRY_*` close without a chargeback, ACCEPTED is the merchant giving in. */
const DISPUTE_STATE: Record<string, DisputeStatus> = {
  INQUIRY_EVIDENCE_REQUIRED: 'needs_response',
  EVIDENCE_REQUIRED: 'needs_response',
  INQUIRY_PROCESSING: 'under_review',
  PROCESSING: 'under_review',
  INQUIRY_CLOSED: 'won',
  WON: 'won',
  LOST: 'lost',
  ACCEPTED: 'lost',
};

/** A Square notification body is snake_case JSON: { event_id, type, data: { type, id, object } }. */
function parseSquareEvent(rawBody: string): GatewayWebhookEvent {
  const body = JSON.parse(rawBody) as {
    event_id: string;
    type: string;
    data?: {
      object?: {
        payment?: {
          id: string;
          status: string;
          amount_money?: SquareWireMoney;
          refunded_money?: SquareWireMoney;
          reference_id?: string;
        };
        refund?: { id: string; status: string; payment_id?: string; amount_money?: SquareWireMoney };
        checkout?: {
          id: string;
          status: string;
          amount_money?: SquareWireMoney;
          payment_ids?: string[];
          reference_id?: string;
        };
        dispute?: {
          id: string;
          state: string;
          reason?: string;
          amount_money?: SquareWireMoney;
          due_at?: string;
          disputed_payment?: { payment_id?: string };
        };
      };
    };
  };
  const event: GatewayWebhookEvent = { id: body.event_id, type: body.type };
  const object = body.data?.object;
  if (object?.payment) {
    const amount = object.payment.amount_money?.amount ?? 0;
    const statuses: Record<string, GatewayPayment['status']> = {
      APPROVED: 'authorized',
      COMPLETED: 'completed',
      CANCELED: 'voided',
      FAILED: 'failed',
    };
    const status = statuses[object.payment.status];
    if (status) {
      event.payment = {
        reference: object.payment.id,
        status,
        amount_captured: status === 'completed' ? amount : null,
        failure_code: status === 'failed' ? 'GENERIC_DECLINE' : null,
        failure_message: null,
        our_payment_id: object.payment.reference_id ?? null,
      };
    }
  } else if (object?.checkout) {
    const statuses: Record<string, GatewayPayment['status']> = { COMPLETED: 'completed', CANCELED: 'voided' };
    const status = statuses[object.checkout.status];
    if (status) {
      event.payment = {
        reference: object.checkout.id,
        status,
        amount_captured: status === 'completed' ? (object.checkout.amount_money?.amount ?? 0) : null,
        failure_code: null,
        failure_message: null,
        our_payment_id: object.checkout.reference_id ?? null,
        ...(object.checkout.payment_ids?.[0]
          ? { details: { payment_id: object.checkout.payment_ids[0] } }
          : {}),
      };
    }
  } else if (object?.refund) {
    const status =
      object.refund.status === 'COMPLETED'
        ? 'processed'
        : object.refund.status === 'FAILED' || object.refund.status === 'REJECTED'
          ? 'failed'
          : 'pending';
    event.refund = {
      reference: object.refund.id,
      status,
      failure_code: status === 'failed' ? object.refund.status : null,
      payment_reference: object.refund.payment_id ?? null,
      amount: object.refund.amount_money?.amount ?? 0,
      currency: object.refund.amount_money?.currency ?? '',
      our_refund_id: null,
      description: 'Refunded in Square',
    };
  } else if (object?.dispute) {
    event.dispute = {
      reference: object.dispute.id,
      payment_reference: object.dispute.disputed_payment?.payment_id ?? null,
      amount: object.dispute.amount_money?.amount ?? 0,
      currency: object.dispute.amount_money?.currency ?? '',
      reason: object.dispute.reason ?? null,
      status: DISPUTE_STATE[object.dispute.state] ?? 'under_review',
      evidence_due_by: object.dispute.due_at ? new Date(object.dispute.due_at) : null,
    };
  }
  return event;
}
