import type { DisputeStatus, Gateway } from '@tessera/contracts';

/**
 * One interface over every payment gateway. Each call carries its own idempotency key, so a retry
 * after a timeout reaches the gateway as the same request and can never charge twice.
 * Adapters throw GatewayDeclined for a definite refusal and GatewayUnknown when the outcome is
 * not known (timeout, connection reset, 5xx, or a 409 for another request with the same key still
 * running): the caller then records `unknown` and retries later.
 */
export interface PaymentGateway {
  readonly name: Gateway;
  /** Places a hold (capture later) or charges at once, per `capture`. */
  createPayment(request: CreatePaymentRequest): Promise<GatewayPayment>;
  capture(request: CaptureRequest): Promise<GatewayPayment>;
  void(request: ReferenceRequest): Promise<GatewayPayment>;
  refund(request: RefundRequest): Promise<GatewayRefund>;
  /** Brand, last4 and expiry of a gateway's payment-method token. */
  fetchPaymentMethod(token: string): Promise<CardDetails>;
  /** The gateway's payment as it stands now, by our reference. */
  retrieve(reference: GatewayReference): Promise<GatewayPayment | null>;
  /** The gateway's refund as it stands now, by its reference; null if the gateway has no such refund. */
  retrieveRefund(reference: string): Promise<GatewayRefund | null>;
  /** The gateway's payments created in [from, to), for reconciliation. */
  listPayments(from: Date, to: Date): Promise<GatewayPayment[]>;
  /** Every refund the gateway has of this payment, ours and those made there, as a webhook tells of each. */
  listRefunds(reference: GatewayReference): Promise<GatewayRefundChange[]>;
  /** Verifies the signature and parses the delivery; throws InvalidWebhookSignature. */
  parseWebhook(delivery: WebhookDelivery): Promise<GatewayWebhookEvent>;
}

/** Where a payment lives at the gateway: its main id plus follow-up ids some gateways hand out. */
export interface GatewayReference {
  id: string;
  /** PayPal: the authorization and capture ids under the order; Square Terminal: the payment id. */
  authorization_id?: string;
  capture_id?: string;
  payment_id?: string;
}

export interface CreatePaymentRequest {
  amount: number;
  currency: string;
  capture: boolean;
  /** The gateway's token for the payment method (Stripe pm_..., Square nonce/card id). */
  source: string | null;
  /** Our payment id, sent as the gateway's reference/metadata. */
  paymentId: string;
  orderId: string;
  idempotencyKey: string;
}

export interface CaptureRequest {
  reference: GatewayReference;
  amount: number;
  currency: string;
  idempotencyKey: string;
}

export interface ReferenceRequest {
  reference: GatewayReference;
  idempotencyKey: string;
}

export interface RefundRequest {
  reference: GatewayReference;
  amount: number;
  currency: string;
  reason: string | null;
  refundId: string;
  idempotencyKey: string;
}

/** The gateway's view of a payment, mapped onto our statuses. */
export interface GatewayPayment {
  reference: GatewayReference;
  status: 'pending' | 'authorized' | 'completed' | 'failed' | 'voided' | 'refunded' | 'partially_refunded';
  amount: number;
  currency: string;
  amount_authorized: number;
  amount_captured: number;
  /** Given back to date, refunds the gateway has not finished included; listings always say it. */
  amount_refunded: number;
  next_action: NextAction | null;
  failure_code: string | null;
  failure_message: string | null;
  /** PayPal: the buyer approved the order, which now waits for our authorize or capture call. */
  approved?: boolean;
  created_at: Date;
  raw: unknown;
}

export type NextAction =
  | { type: 'redirect'; url: string }
  | { type: 'terminal_checkout'; checkout_id: string; device_id: string | null }
  | { type: 'customer_action'; detail: string };

export interface GatewayRefund {
  reference: string;
  status: 'pending' | 'processed' | 'failed';
  failure_code: string | null;
  raw: unknown;
}

export interface CardDetails {
  brand: string | null;
  last4: string | null;
  exp_month: number | null;
  exp_year: number | null;
}

export interface WebhookDelivery {
  rawBody: string;
  headers: Record<string, string | string[] | undefined>;
  /** The URL the gateway posted to (Square signs it). */
  url: string;
}

/** A verified webhook, reduced to what moves our state machines. */
export interface GatewayWebhookEvent {
  id: string;
  type: string;
  /** The payment it concerns (by gateway reference id) and its state at the gateway. */
  payment?: {
    reference: string;
    status: GatewayPayment['status'] | 'approved';
    amount_captured: number | null;
    failure_code: string | null;
    failure_message: string | null;
    /**
     * Our payment id as the gateway's object carries it (Stripe's metadata, Square's reference_id,
     * PayPal's custom_id): it finds the payment before its reference is stored.
     */
    our_payment_id: string | null;
    /** Follow-up ids the event reveals (PayPal authorization/capture, Square Terminal payment). */
    details?: Partial<GatewayReference>;
  };
  refund?: GatewayRefundChange;
  dispute?: GatewayDisputeChange;
}

/**
 * A dispute (a chargeback, or an inquiry before one) as a webhook tells of it. The merchant answers
 * it in the gateway's dashboard; here it is shown, with the date by which to answer.
 */
export interface GatewayDisputeChange {
  reference: string;
  /** The id the disputed payment is known by here (its reference, PayPal's capture id, Square's payment id). */
  payment_reference: string | null;
  /** In ISO 4217 minor units of `currency`. */
  amount: number;
  currency: string;
  /** The gateway's own reason code (`fraudulent`, `NOT_RECEIVED`, `MERCHANDISE_OR_SERVICE_NOT_RECEIVED`). */
  reason: string | null;
  status: DisputeStatus;
  evidence_due_by: Date | null;
}

/**
 * A refund as a webhook or the gateway's list tells of it: one of ours, or one made at the gateway
 * (its dashboard, a dispute).
 */
export interface GatewayRefundChange {
  reference: string;
  status: GatewayRefund['status'];
  failure_code: string | null;
  /** The id the refunded payment is known by here (its reference, PayPal's capture id, Square's payment id). */
  payment_reference: string | null;
  /** In ISO 4217 minor units of `currency`. */
  amount: number;
  currency: string;
  /**
   * Our refund id, which our refunds carry (Stripe's metadata, PayPal's invoice_id; Square's carry
   * none): made by us, whether or not its reference is stored yet.
   */
  our_refund_id: string | null;
  /** What a refund made at the gateway is recorded with as its reason. */
  description: string;
}

export class GatewayDeclined extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly raw: unknown,
    readonly reference: string | null = null,
  ) {
    super(message);
    this.name = 'GatewayDeclined';
  }
}

/**
 * GatewayDeclined's code for an amount the gateway cannot take exactly in its own units of the
 * currency (a fraction of a unit it does not have): refused before any call, never rounded.
 */
export const UNSUPPORTED_AMOUNT_PRECISION = 'unsupported_amount_precision';

export class GatewayUnknown extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayUnknown';
  }
}

export class InvalidWebhookSignature extends Error {
  constructor(message = 'The webhook signature is not valid') {
    super(message);
    this.name = 'InvalidWebhookSignature';
  }
}

/** Credentials and endpoint of one gateway account (a tenant's own, or the environment's). */
export interface GatewayCredentials {
  api_base?: string | undefined;
  secret_key?: string | undefined;
  webhook_secret?: string | undefined;
  access_token?: string | undefined;
  location_id?: string | undefined;
  device_id?: string | undefined;
  webhook_signature_key?: string | undefined;
  client_id?: string | undefined;
  client_secret?: string | undefined;
  webhook_id?: string | undefined;
}

export interface AdapterOptions {
  credentials: GatewayCredentials;
  timeoutMs: number;
  /** Our public base URL: Square signs the notification URL. */
  publicUrl: string;
}
