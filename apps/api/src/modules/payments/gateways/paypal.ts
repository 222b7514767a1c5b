import { fromDecimalString, toDecimalString, UnrepresentableAmount } from '../money';
import {
  GatewayDeclined,
  GatewayUnknown,
  InvalidWebhookSignature,
  UNSUPPORTED_AMOUNT_PRECISION,
  type AdapterOptions,
  type CaptureRequest,
  type CardDetails,
  type CreatePaymentRequest,
  type GatewayPayment,
  type GatewayReference,
  type GatewayRefund,
  type GatewayRefundChange,
  type GatewayWebhookEvent,
  type NextAction,
  type PaymentGateway,
  type ReferenceRequest,
  type RefundRequest,
  type WebhookDelivery,
} from './types';

/** PayPal's money: a currency code and a decimal string in the currency's exponent. */
interface PayPalMoney {
  currency_code: string;
  value: string;
}
interface PayPalLink {
  href: string;
  rel: string;
  method?: string;
}
interface PayPalCapture {
  id: string;
  status: string;
  /** Why a capture is PENDING or DENIED (PENDING_REVIEW, ECHECK, ...). */
  status_details?: { reason?: string };
  amount?: PayPalMoney;
  /** The purchase unit's custom_id: our payment id. */
  custom_id?: string;
  create_time?: string;
  supplementary_data?: { related_ids?: { order_id?: string; authorization_id?: string } };
}
type PayPalAuthorization = PayPalCapture;
interface PayPalRefund {
  id: string;
  status: string;
  amount?: PayPalMoney;
  /** Ours carry our refund id here. */
  invoice_id?: string;
  /** `up` is the refunded capture. */
  links?: PayPalLink[];
}
export interface PayPalOrder {
  id: string;
  status: 'CREATED' | 'SAVED' | 'APPROVED' | 'VOIDED' | 'COMPLETED' | 'PAYER_ACTION_REQUIRED';
  intent: 'AUTHORIZE' | 'CAPTURE';
  create_time?: string;
  links?: PayPalLink[];
  purchase_units?: {
    reference_id?: string;
    custom_id?: string;
    amount: PayPalMoney;
    payments?: {
      authorizations?: PayPalAuthorization[];
      captures?: PayPalCapture[];
      refunds?: PayPalRefund[];
    };
  }[];
}
interface PayPalErrorBody {
  name?: string;
  message?: string;
  details?: { issue?: string; description?: string }[];
}
interface PayPalTransactionInfo {
  transaction_id: string;
  /** A T-code: T00nn are payments, T11nn reversals and refunds, T12nn adjustments such as chargebacks. */
  transaction_event_code?: string;
  transaction_amount: PayPalMoney;
  transaction_status: string;
  transaction_initiation_date: string;
  /** The transaction this one refers to: for a refund, the capture it returns money from. */
  paypal_reference_id?: string;
}
interface PayPalTransactionReport {
  transaction_details: { transaction_info: PayPalTransactionInfo }[];
  page: number;
  total_pages: number;
}

/** A dispute (Customer Disputes API): it names the capture as the seller's transaction. */
interface PayPalDispute {
  dispute_id: string;
  reason?: string;
  status?: string;
  dispute_amount?: PayPalMoney;
  disputed_transactions?: { seller_transaction_id?: string }[];
  dispute_outcome?: { outcome_code?: string };
  seller_response_due_date?: string;
}
/** A resolved dispute's outcomes that leave the merchant its money. */
const SELLER_WON = new Set(['RESOLVED_SELLER_FAVOUR', 'CANCELED_BY_BUYER', 'DENIED']);

/** Currencies PayPal takes without decimals, whatever ISO 4217 says (its currency codes page): "1500", not "1500.00". */
const PAYPAL_NO_DECIMALS = new Set(['HUF', 'JPY', 'TWD']);

/** Our ISO 4217 minor units → PayPal's money; an amount PayPal cannot take exactly is a definite refusal. */
function toPayPalMoney(amount: number, currency: string): PayPalMoney {
  try {
    const value = PAYPAL_NO_DECIMALS.has(currency.toUpperCase())
      ? toDecimalString(amount, currency, 0)
      : toDecimalString(amount, currency);
    return { currency_code: currency, value };
  } catch (error) {
    if (error instanceof UnrepresentableAmount)
      throw new GatewayDeclined(UNSUPPORTED_AMOUNT_PRECISION, `PayPal: ${error.message}`, null);
    throw error;
  }
}

/** Capture statuses of money that was captured (a refund later changes COMPLETED to one of the others). */
const CAPTURED = new Set(['COMPLETED', 'PARTIALLY_REFUNDED', 'REFUNDED']);
/** Capture statuses of money that never came. */
const NOT_CAPTURED = new Set(['DECLINED', 'FAILED']);

/**
 * What a PENDING capture waits for. Mostly PayPal (a review, an eCheck clearing) or the merchant's
 * PayPal account (accepting a payment in another currency), which are nothing the customer can do;
 * only TRANSACTION_APPROVED_AWAITING_FUNDING waits for the payer, who must send the funds.
 */
function pendingCaptureAction(capture: PayPalCapture): NextAction | null {
  const reason = capture.status_details?.reason;
  return reason === 'TRANSACTION_APPROVED_AWAITING_FUNDING'
    ? { type: 'customer_action', detail: reason }
    : null;
}

/** The transaction report's limits: at most 31 days per search, at most 500 rows per page. */
const REPORT_WINDOW_MS = 31 * 86_400_000;
const REPORT_PAGE_SIZE = 500;
/** Report rows that give a capture's money back: a reversal by PayPal, a refund, a chargeback. */
const RETURNED_CODES = new Set(['T1106', 'T1107', 'T1201']);

/** OAuth access tokens, shared by every adapter of one account until shortly before they expire. */
const tokens = new Map<string, { token: string; expiresAt: number }>();

/**
 * A small typed client of PayPal's REST API (Orders v2, Payments v2, Reporting, Webhooks). The
 * official SDK hard-codes PayPal's hosts; this one takes the base URL from settings (docs/decisions.md).
 */
export class PayPalClient {
  constructor(
    private readonly base: string,
    private readonly clientId: string,
    private readonly clientSecret: string,
    private readonly timeoutMs: number,
  ) {}

  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown, requestId?: string): Promise<T> {
    const token = await this.accessToken();
    const response = await this.send(path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        prefer: 'return=representation',
        ...(requestId ? { 'paypal-request-id': requestId } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  private async accessToken(): Promise<string> {
    const key = `${this.base}|${this.clientId}`;
    const cached = tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.token;
    const response = await this.send('/v1/oauth2/token', {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    const answer = (await response.json()) as { access_token: string; expires_in: number };
    tokens.set(key, { token: answer.access_token, expiresAt: Date.now() + (answer.expires_in - 60) * 1000 });
    return answer.access_token;
  }

  private async send(path: string, init: RequestInit): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.base), {
        ...init,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new GatewayUnknown(`PayPal: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
    // A 409 is PREVIOUS_REQUEST_IN_PROGRESS: a request with this PayPal-Request-Id is still running.
    if (response.status >= 500 || response.status === 429 || response.status === 409) {
      throw new GatewayUnknown(`PayPal answered ${response.status}`);
    }
    if (!response.ok) {
      const error = (await response.json().catch(() => ({}))) as PayPalErrorBody;
      const detail = error.details?.[0];
      throw new GatewayDeclined(
        detail?.issue ?? error.name ?? `HTTP_${response.status}`,
        detail?.description ?? error.message ?? `PayPal answered ${response.status}`,
        error,
      );
    }
    return response;
  }
}

/** PayPal Orders v2: the buyer approves at PayPal, then we authorize or capture the order. */
export class PayPalGateway implements PaymentGateway {
  readonly name = 'paypal' as const;
  private readonly client: PayPalClient;

  constructor(private readonly options: AdapterOptions) {
    const { client_id, client_secret, api_base } = options.credentials;
    if (!client_id || !client_secret) throw new Error('PayPal needs a client id and secret');
    this.client = new PayPalClient(
      api_base ?? 'https://api-m.paypal.com',
      client_id,
      client_secret,
      options.timeoutMs,
    );
  }

  async createPayment(request: CreatePaymentRequest): Promise<GatewayPayment> {
    const order = await this.client.request<PayPalOrder>(
      'POST',
      '/v2/checkout/orders',
      {
        intent: request.capture ? 'CAPTURE' : 'AUTHORIZE',
        purchase_units: [
          {
            reference_id: request.orderId,
            custom_id: request.paymentId,
            amount: toPayPalMoney(request.amount, request.currency),
          },
        ],
      },
      request.idempotencyKey,
    );
    return toPayment(order);
  }

  /** After the buyer approved: authorizes or captures the order, per its intent. */
  async confirmApproved(
    reference: GatewayReference,
    capture: boolean,
    idempotencyKey: string,
  ): Promise<GatewayPayment> {
    const order = await this.client.request<PayPalOrder>(
      'POST',
      `/v2/checkout/orders/${encodeURIComponent(reference.id)}/${capture ? 'capture' : 'authorize'}`,
      {},
      idempotencyKey,
    );
    return toPayment(order);
  }

  async capture(request: CaptureRequest): Promise<GatewayPayment> {
    if (!request.reference.authorization_id)
      throw new GatewayDeclined('NOT_AUTHORIZED', 'The order has no authorization', null);
    const capture = await this.client.request<PayPalCapture>(
      'POST',
      `/v2/payments/authorizations/${encodeURIComponent(request.reference.authorization_id)}/capture`,
      { amount: toPayPalMoney(request.amount, request.currency), final_capture: true },
      request.idempotencyKey,
    );
    const amount = capture.amount
      ? fromDecimalString(capture.amount.value, capture.amount.currency_code)
      : request.amount;
    // A PENDING capture is not money received yet (a review, an eCheck): pending until PayPal settles it.
    const completed = CAPTURED.has(capture.status);
    const pending = capture.status === 'PENDING';
    return {
      reference: { ...request.reference, capture_id: capture.id },
      status: completed ? 'completed' : pending ? 'pending' : 'failed',
      amount,
      currency: request.currency,
      amount_authorized: amount,
      amount_captured: completed ? amount : 0,
      amount_refunded: 0,
      next_action: pending ? pendingCaptureAction(capture) : null,
      failure_code: completed || pending ? null : capture.status,
      failure_message: completed || pending ? null : (capture.status_details?.reason ?? null),
      created_at: new Date(capture.create_time ?? Date.now()),
      raw: capture,
    };
  }

  async void(request: ReferenceRequest): Promise<GatewayPayment> {
    if (request.reference.authorization_id) {
      await this.client.request(
        'POST',
        `/v2/payments/authorizations/${encodeURIComponent(request.reference.authorization_id)}/void`,
        {},
        request.idempotencyKey,
      );
    }
    // An order the buyer never approved holds no money; PayPal lets it expire.
    const order = await this.client.request<PayPalOrder>(
      'GET',
      `/v2/checkout/orders/${encodeURIComponent(request.reference.id)}`,
    );
    return { ...toPayment(order), status: 'voided', next_action: null };
  }

  async refund(request: RefundRequest): Promise<GatewayRefund> {
    if (!request.reference.capture_id)
      throw new GatewayDeclined('NOT_CAPTURED', 'The payment has no capture to refund', null);
    const refund = await this.client.request<PayPalRefund>(
      'POST',
      `/v2/payments/captures/${encodeURIComponent(request.reference.capture_id)}/refund`,
      {
        amount: toPayPalMoney(request.amount, request.currency),
        ...(request.reason ? { note_to_payer: request.reason.slice(0, 255) } : {}),
        invoice_id: request.refundId,
      },
      request.idempotencyKey,
    );
    return toRefund(refund);
  }

  async fetchPaymentMethod(token: string): Promise<CardDetails> {
    const found = await this.client.request<{
      payment_source?: { card?: { brand?: string; last_digits?: string; expiry?: string } };
    }>('GET', `/v3/vault/payment-tokens/${encodeURIComponent(token)}`);
    const card = found.payment_source?.card;
    const [year, month] = card?.expiry?.split('-') ?? [];
    return {
      brand: card?.brand?.toLowerCase() ?? null,
      last4: card?.last_digits ?? null,
      exp_month: month ? Number(month) : null,
      exp_year: year ? Number(year) : null,
    };
  }

  async retrieve(reference: GatewayReference): Promise<GatewayPayment | null> {
    try {
      return toPayment(
        await this.client.request<PayPalOrder>(
          'GET',
          `/v2/checkout/orders/${encodeURIComponent(reference.id)}`,
        ),
      );
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async retrieveRefund(reference: string): Promise<GatewayRefund | null> {
    try {
      return toRefund(
        await this.client.request<PayPalRefund>(
          'GET',
          `/v2/payments/refunds/${encodeURIComponent(reference)}`,
        ),
      );
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /** The refunds of the order's capture, as the order lists them. */
  async listRefunds(reference: GatewayReference): Promise<GatewayRefundChange[]> {
    const order = await this.client.request<PayPalOrder>(
      'GET',
      `/v2/checkout/orders/${encodeURIComponent(reference.id)}`,
    );
    return (order.purchase_units?.[0]?.payments?.refunds ?? []).map((refund) =>
      toRefundChange(refund, capturedBy(refund) ?? reference.capture_id ?? null, 'Refunded in PayPal'),
    );
  }

  /**
   * The transaction report of the period, and the money given back from its captures to date:
   * refunds and reversals are rows of their own, stamped when they were made and naming the
   * capture they return money from.
   */
  async listPayments(from: Date, to: Date): Promise<GatewayPayment[]> {
    const found = new Map<string, GatewayPayment>();
    const returned = new Map<string, number>();
    // PayPal stamps whole seconds: a transaction of the period's first, partial second is stamped
    // before `from` although it belongs to the period, so the search starts at the floor of `from`.
    const first = Math.floor(from.getTime() / 1000) * 1000;
    const end = Math.max(to.getTime(), Date.now());
    for await (const info of this.report(first, end)) {
      const group = info.transaction_event_code?.slice(0, 3);
      if (group === 'T00' && Date.parse(info.transaction_initiation_date) < to.getTime()) {
        if (!found.has(info.transaction_id)) found.set(info.transaction_id, toReportedPayment(info));
      } else if (
        RETURNED_CODES.has(info.transaction_event_code ?? '') &&
        info.paypal_reference_id &&
        (info.transaction_status === 'S' || info.transaction_status === 'P')
      ) {
        const amount = -fromDecimalString(
          info.transaction_amount.value,
          info.transaction_amount.currency_code,
        );
        returned.set(info.paypal_reference_id, (returned.get(info.paypal_reference_id) ?? 0) + amount);
      }
    }
    return [...found.values()].map((payment) =>
      withReturned(payment, returned.get(payment.reference.id) ?? 0),
    );
  }

  /**
   * The report's rows from `start` to `end`: every page of every 31-day window, since the report
   * serves no more at once. Once per transaction id: the report may list an id twice, and a
   * window's end may be inclusive.
   */
  private async *report(start: number, end: number): AsyncGenerator<PayPalTransactionInfo> {
    const seen = new Set<string>();
    for (let windowStart = start; windowStart < end; windowStart += REPORT_WINDOW_MS) {
      const windowEnd = Math.min(windowStart + REPORT_WINDOW_MS, end);
      for (let page = 1, pages = 1; page <= pages; page++) {
        const query = new URLSearchParams({
          start_date: new Date(windowStart).toISOString(),
          end_date: new Date(windowEnd).toISOString(),
          fields: 'transaction_info',
          page_size: String(REPORT_PAGE_SIZE),
          page: String(page),
        });
        const report = await this.client.request<PayPalTransactionReport>(
          'GET',
          `/v1/reporting/transactions?${query.toString()}`,
        );
        pages = report.total_pages;
        for (const { transaction_info: info } of report.transaction_details) {
          // A row can come twice (pages shift as transactions arrive): it counts once.
          if (seen.has(info.transaction_id)) continue;
          seen.add(info.transaction_id);
          yield info;
        }
      }
    }
  }

  /** PayPal signs with a certificate; its verify-webhook-signature API checks a delivery for us. */
  async parseWebhook(delivery: WebhookDelivery): Promise<GatewayWebhookEvent> {
    const webhookId = this.options.credentials.webhook_id;
    const header = (name: string) => {
      const value = delivery.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    const transmissionSig = header('paypal-transmission-sig');
    if (!webhookId || !transmissionSig) throw new InvalidWebhookSignature();
    const event = JSON.parse(delivery.rawBody) as {
      id: string;
      event_type: string;
      resource: Record<string, unknown>;
    };
    const verification = await this.client.request<{ verification_status: string }>(
      'POST',
      '/v1/notifications/verify-webhook-signature',
      {
        auth_algo: header('paypal-auth-algo'),
        cert_url: header('paypal-cert-url'),
        transmission_id: header('paypal-transmission-id'),
        transmission_sig: transmissionSig,
        transmission_time: header('paypal-transmission-time'),
        webhook_id: webhookId,
        webhook_event: event,
      },
    );
    if (verification.verification_status !== 'SUCCESS') throw new InvalidWebhookSignature();
    return parsePayPalEvent(event);
  }
}

function parsePayPalEvent(event: {
  id: string;
  event_type: string;
  resource: Record<string, unknown>;
}): GatewayWebhookEvent {
  const parsed: GatewayWebhookEvent = { id: event.id, type: event.event_type };
  const resource = event.resource as unknown as PayPalCapture;
  const orderId = resource.supplementary_data?.related_ids?.order_id;
  const amount = resource.amount
    ? fromDecimalString(resource.amount.value, resource.amount.currency_code)
    : null;
  // A capture or authorization carries its purchase unit's custom_id; an order, its purchase unit.
  const ourPaymentId =
    resource.custom_id ?? (event.resource as unknown as PayPalOrder).purchase_units?.[0]?.custom_id ?? null;
  const on = (
    status: NonNullable<GatewayWebhookEvent['payment']>['status'],
    reference: string | undefined,
    change: {
      details?: Partial<GatewayReference>;
      failure?: { code: string; message: string | null };
    } = {},
  ) => {
    if (reference) {
      parsed.payment = {
        reference,
        status,
        amount_captured: status === 'completed' ? amount : null,
        failure_code: change.failure?.code ?? null,
        failure_message: change.failure?.message ?? null,
        our_payment_id: ourPaymentId,
        ...(change.details ? { details: change.details } : {}),
      };
    }
  };
  const refused = (code: string) => {
    const reason = resource.status_details?.reason;
    on('failed', orderId, {
      failure: { code, message: `PayPal refused the capture${reason ? ` (${reason})` : ''}` },
    });
  };
  switch (event.event_type) {
    case 'CHECKOUT.ORDER.APPROVED':
      on('approved', resource.id);
      break;
    case 'PAYMENT.AUTHORIZATION.CREATED':
      on('authorized', orderId, { details: { authorization_id: resource.id } });
      break;
    case 'PAYMENT.AUTHORIZATION.VOIDED':
      on('voided', orderId);
      break;
    case 'PAYMENT.CAPTURE.COMPLETED':
      on('completed', orderId, { details: { capture_id: resource.id } });
      break;
    // Not money yet (a review, an eCheck): the payment stays pending; its capture id is kept, so
    // that the COMPLETED or DENIED that follows, a refund, and reconciliation find it.
    case 'PAYMENT.CAPTURE.PENDING':
      on('pending', orderId, { details: { capture_id: resource.id } });
      break;
    case 'PAYMENT.CAPTURE.DENIED':
      refused('CAPTURE_DENIED');
      break;
    case 'PAYMENT.CAPTURE.DECLINED':
      refused('CAPTURE_DECLINED');
      break;
    // Both carry a refund: ours or one made in PayPal (REFUNDED), or one PayPal made itself
    // (REVERSED, e.g. a chargeback). Neither names the order, only the capture in its links.
    case 'PAYMENT.CAPTURE.REFUNDED':
    case 'PAYMENT.CAPTURE.REVERSED': {
      const raw = event.resource as unknown as PayPalRefund;
      parsed.refund = toRefundChange(
        raw,
        capturedBy(raw),
        event.event_type === 'PAYMENT.CAPTURE.REVERSED'
          ? 'Reversed by PayPal (a dispute or chargeback)'
          : 'Refunded in PayPal',
      );
      break;
    }
    case 'CUSTOMER.DISPUTE.CREATED':
    case 'CUSTOMER.DISPUTE.UPDATED':
    case 'CUSTOMER.DISPUTE.RESOLVED': {
      const raw = event.resource as unknown as PayPalDispute;
      const currency = raw.dispute_amount?.currency_code ?? '';
      parsed.dispute = {
        reference: raw.dispute_id,
        payment_reference: raw.disputed_transactions?.[0]?.seller_transaction_id ?? null,
        amount: raw.dispute_amount ? fromDecimalString(raw.dispute_amount.value, currency) : 0,
        currency,
        reason: raw.reason ?? null,
        status:
          raw.status === 'RESOLVED'
            ? SELLER_WON.has(raw.dispute_outcome?.outcome_code ?? '')
              ? 'won'
              : 'lost'
            : raw.status === 'WAITING_FOR_SELLER_RESPONSE'
              ? 'needs_response'
              : 'under_review',
        evidence_due_by: raw.seller_response_due_date ? new Date(raw.seller_response_due_date) : null,
      };
      break;
    }
  }
  return parsed;
}

function toPayment(order: PayPalOrder): GatewayPayment {
  const unit = order.purchase_units?.[0];
  const currency = unit?.amount.currency_code ?? 'USD';
  const amount = unit ? fromDecimalString(unit.amount.value, currency) : 0;
  const authorization = unit?.payments?.authorizations?.[0];
  const captures = unit?.payments?.captures ?? [];
  const capture = captures.find((item) => CAPTURED.has(item.status));
  // Captured but not credited yet (a review, an eCheck): the order is not paid until it completes.
  const pendingCapture = capture ? undefined : captures.find((item) => item.status === 'PENDING');
  const denied = captures.find((item) => NOT_CAPTURED.has(item.status));
  const captureId = (capture ?? pendingCapture)?.id;
  const refunded = (unit?.payments?.refunds ?? [])
    .filter((item) => item.status === 'COMPLETED' && item.amount)
    .reduce((sum, item) => sum + fromDecimalString(item.amount!.value, currency), 0);
  const captured = capture?.amount ? fromDecimalString(capture.amount.value, currency) : 0;
  let status: GatewayPayment['status'];
  if (capture)
    status =
      refunded >= captured && refunded > 0 ? 'refunded' : refunded > 0 ? 'partially_refunded' : 'completed';
  else if (pendingCapture) status = 'pending';
  else if (denied) status = 'failed';
  else if (authorization?.status === 'VOIDED' || order.status === 'VOIDED') status = 'voided';
  else if (authorization) status = 'authorized';
  else status = 'pending';
  const approve = order.links?.find((link) => link.rel === 'approve' || link.rel === 'payer-action');
  return {
    reference: {
      id: order.id,
      ...(authorization ? { authorization_id: authorization.id } : {}),
      ...(captureId ? { capture_id: captureId } : {}),
    },
    status,
    amount,
    currency,
    amount_authorized: status === 'pending' || status === 'failed' ? 0 : amount,
    amount_captured: captured,
    amount_refunded: refunded,
    next_action: pendingCapture
      ? pendingCaptureAction(pendingCapture)
      : status === 'pending' && approve && order.status !== 'APPROVED'
        ? { type: 'redirect', url: approve.href }
        : null,
    failure_code: status === 'failed' && denied ? denied.status : null,
    failure_message: status === 'failed' && denied ? (denied.status_details?.reason ?? null) : null,
    approved: order.status === 'APPROVED',
    created_at: new Date(order.create_time ?? Date.now()),
    raw: order,
  };
}

/** A report row: a money movement (a capture), so it is authorized and captured alike when it succeeded. */
function toReportedPayment(info: PayPalTransactionInfo): GatewayPayment {
  const amount = fromDecimalString(info.transaction_amount.value, info.transaction_amount.currency_code);
  const status =
    info.transaction_status === 'S'
      ? 'completed'
      : info.transaction_status === 'V'
        ? 'voided'
        : info.transaction_status === 'D'
          ? 'failed'
          : 'pending';
  return {
    reference: { id: info.transaction_id, capture_id: info.transaction_id },
    status,
    amount,
    currency: info.transaction_amount.currency_code,
    amount_authorized: amount,
    amount_captured: status === 'completed' ? amount : 0,
    amount_refunded: 0,
    next_action: null,
    failure_code: null,
    failure_message: null,
    created_at: new Date(info.transaction_initiation_date),
    raw: info,
  };
}

/** A reported capture with the money given back from it. */
function withReturned(payment: GatewayPayment, returned: number): GatewayPayment {
  if (returned === 0 || payment.status !== 'completed') return payment;
  return {
    ...payment,
    status: returned >= payment.amount_captured ? 'refunded' : 'partially_refunded',
    amount_refunded: returned,
  };
}

/** PayPal's 404: its name is RESOURCE_NOT_FOUND; the code we keep is the detail's issue (INVALID_RESOURCE_ID). */
function isNotFound(error: unknown): boolean {
  return (
    error instanceof GatewayDeclined && (error.raw as PayPalErrorBody | null)?.name === 'RESOURCE_NOT_FOUND'
  );
}

/** The capture a refund gives money back from: the `up` link of the refund. */
export function capturedBy(refund: { links?: PayPalLink[] }): string | null {
  const up = refund.links?.find((link) => link.rel === 'up')?.href;
  return up?.match(/\/v2\/payments\/captures\/([^/?#]+)/)?.[1] ?? null;
}

function toRefundChange(raw: PayPalRefund, capture: string | null, description: string): GatewayRefundChange {
  const refund = toRefund(raw);
  const currency = raw.amount?.currency_code ?? '';
  return {
    reference: refund.reference,
    status: refund.status,
    failure_code: refund.failure_code,
    payment_reference: capture,
    amount: raw.amount ? fromDecimalString(raw.amount.value, currency) : 0,
    currency,
    our_refund_id: raw.invoice_id ?? null,
    description,
  };
}

function toRefund(refund: PayPalRefund): GatewayRefund {
  const status =
    refund.status === 'COMPLETED'
      ? 'processed'
      : refund.status === 'FAILED' || refund.status === 'CANCELLED'
        ? 'failed'
        : 'pending';
  return {
    reference: refund.id,
    status,
    failure_code: status === 'failed' ? refund.status : null,
    raw: refund,
  };
}
