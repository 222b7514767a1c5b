import type { Web } from '@tessera/contracts';
import { newIdempotencyKey } from './api';
import { IdempotencyKeys, keyOutcome } from './idempotency';
import { paymentRefusal, type PaymentContext } from './payment-form';
import { ApiError } from './problem';

/** The body of `POST /commerce/payments`. */
export interface PaymentRequest {
  order_id: string;
  amount: number;
  currency: string;
  gateway: Web.Gateway;
  capture?: boolean;
  payment_method_id?: string;
  cash_tendered?: number;
}

/**
 * A payment method made for this payment (`POST /commerce/payment-methods`): a new card from its
 * gateway token, or a check, labelled with its number when given.
 */
export type NewPaymentMethod =
  | { gateway: Web.Gateway; type: 'card'; gateway_token: string }
  | { gateway: 'manual'; type: 'check'; label?: string };

/** What the person asked for: the payment, and the method to make for it when none is picked. */
export interface PaymentIntent {
  request: PaymentRequest;
  newMethod?: NewPaymentMethod;
}

/** The two calls a payment makes, given so that tests can stand in for the API. */
export interface PaymentCalls {
  saveMethod(method: NewPaymentMethod, idempotencyKey: string): Promise<Web.PaymentMethod>;
  pay(request: PaymentRequest, idempotencyKey: string): Promise<Web.Payment>;
}

/** The API's answer to saving the payment's method: no payment was sent, so nothing was taken. */
export class MethodNotSavedError extends ApiError {
  readonly method: NewPaymentMethod['type'];

  constructor(error: ApiError, method: NewPaymentMethod['type']) {
    super(error.status, error.problem);
    this.name = 'MethodNotSavedError';
    this.method = method;
  }
}

/**
 * One intent to pay (one opening of the payment dialog) and its retries. A new payment method (a
 * card's token, a check) is saved once, and its id reused by every retry, so that a retry sends the
 * very body the first attempt sent, under the same Idempotency-Key: the API then replays the first
 * answer (or resumes its work) rather than charging again. The save has a key of its own, kept
 * across its retries: a save whose answer was lost is answered again, not stored twice.
 */
export class PaymentAttempt {
  private readonly keys: IdempotencyKeys;
  private readonly saved = new Map<string, Promise<Web.PaymentMethod>>();
  private readonly saveKeys = new Map<string, string>();

  constructor(keys = new IdempotencyKeys()) {
    this.keys = keys;
  }

  /** The request as it is sent: with the new method's id when one is made for it. */
  private async requestFor(intent: PaymentIntent, calls: PaymentCalls): Promise<PaymentRequest> {
    const newMethod = intent.newMethod;
    if (intent.request.payment_method_id || !newMethod) return intent.request;
    const id = JSON.stringify(newMethod);
    let saving = this.saved.get(id);
    if (!saving) {
      const key = this.saveKeys.get(id) ?? newIdempotencyKey();
      this.saveKeys.set(id, key);
      saving = calls.saveMethod(newMethod, key).catch((error: unknown) => {
        throw error instanceof ApiError ? new MethodNotSavedError(error, newMethod.type) : error;
      });
      this.saved.set(id, saving);
      // A save that failed may be tried again; one that succeeded never is.
      void saving.catch(() => this.saved.delete(id));
    }
    const method = await saving;
    return { ...intent.request, payment_method_id: method.id };
  }

  async submit(intent: PaymentIntent, calls: PaymentCalls): Promise<Web.Payment> {
    const request = await this.requestFor(intent, calls);
    // The key is bound to exactly this body; it throws, sending nothing, after a conflict.
    const key = this.keys.keyFor(request);
    try {
      const payment = await calls.pay(request, key);
      this.keys.settle(null);
      return payment;
    } catch (error) {
      this.keys.settle(error);
      throw error;
    }
  }

  /** True while the last payment sent may have been taken: only the same one may be retried. */
  get unsure(): boolean {
    return this.keys.unsure;
  }

  /** True once the API refused the key as another request's: nothing more is sent. */
  get conflict(): boolean {
    return this.keys.conflict;
  }
}

/** A message as a sentence of its own, ending with a full stop. */
function sentence(text: string): string {
  return /[.!?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`;
}

/** What a failed attempt to pay means for the person at the till, and what they may do. */
export function paymentErrorMessage(error: unknown, context: PaymentContext): string {
  const refusal = paymentRefusal(error, context);
  if (error instanceof MethodNotSavedError)
    return error.method === 'check'
      ? `Nothing was recorded: the check could not be saved. ${sentence(refusal)}`
      : `Nothing was charged: the card token could not be saved. ${sentence(refusal)}`;
  const retry =
    ' Try again with the same details: it is sent as the same payment, never charged twice. To ' +
    "change anything, close this dialog and check the order's payments first.";
  switch (keyOutcome(error)) {
    case 'conflict':
      return (
        'This payment may already have been taken: the server holds this attempt with other ' +
        "details. Check the order's payments before taking it again; close this dialog to start " +
        'a new payment.'
      );
    case 'unsure':
      if (error instanceof ApiError && error.status === 0)
        return `The server could not be reached, so the payment may or may not have been taken.${retry}`;
      if (error instanceof ApiError && error.code === 'idempotency_in_progress')
        return `This payment is still being processed.${retry}`;
      return `The payment could not be confirmed, so it may have been taken. ${sentence(refusal)}${retry}`;
    case 'refused':
    case 'done':
      return refusal;
  }
}

/** How a payment's outcome is told, for each status the API may answer with. */
export interface PaymentOutcome {
  tone: 'success' | 'info' | 'warning' | 'error';
  /** The sentence shown; the amount follows it when `showAmount`. */
  text: string;
  showAmount: boolean;
}

export function paymentOutcome(payment: Pick<Web.Payment, 'status' | 'failure_message'>): PaymentOutcome {
  switch (payment.status) {
    case 'completed':
      return { tone: 'success', text: 'Payment received', showAmount: true };
    case 'authorized':
      return { tone: 'info', text: 'Payment authorized', showAmount: true };
    case 'pending':
      return { tone: 'info', text: 'Payment started', showAmount: true };
    case 'unknown':
      return {
        tone: 'warning',
        text:
          'Outcome not known yet: the gateway did not answer. We are checking with it; do not ' +
          'charge again.',
        showAmount: false,
      };
    case 'failed':
      return {
        tone: 'error',
        text: `The payment failed${payment.failure_message ? `: ${payment.failure_message}` : '.'}`,
        showAmount: false,
      };
    case 'voided':
      return { tone: 'warning', text: 'The payment was voided: nothing was taken.', showAmount: false };
    case 'partially_refunded':
      return { tone: 'warning', text: 'Payment received, and part of it refunded', showAmount: true };
    case 'refunded':
      return { tone: 'warning', text: 'Payment received, and refunded in full', showAmount: true };
  }
}
