import type { Web } from '@tessera/contracts';
import { newIdempotencyKey } from './api';
import { IdempotencyKeys, keyOutcome } from './idempotency';
import { ApiError, errorMessage } from './problem';

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

/** What the person asked for: the payment, and a new card's gateway token when no saved card is picked. */
export interface PaymentIntent {
  request: PaymentRequest;
  cardToken?: string;
}

/** The two calls a payment makes, given so that tests can stand in for the API. */
export interface PaymentCalls {
  saveCard(gateway: Web.Gateway, token: string, idempotencyKey: string): Promise<Web.PaymentMethod>;
  pay(request: PaymentRequest, idempotencyKey: string): Promise<Web.Payment>;
}

/** The API's answer to saving a new card: no payment was sent, so nothing was charged. */
export class CardNotSavedError extends ApiError {
  constructor(error: ApiError) {
    super(error.status, error.problem);
    this.name = 'CardNotSavedError';
  }
}

/**
 * One intent to pay (one opening of the payment dialog) and its retries. A new card token is
 * saved as a payment method once, and its id reused by every retry, so that a retry sends the very
 * body the first attempt sent, under the same Idempotency-Key: the API then replays the first
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

  /** The request as it is sent: with the saved card's id when a new card token is used. */
  private async requestFor(intent: PaymentIntent, calls: PaymentCalls): Promise<PaymentRequest> {
    const token = intent.cardToken?.trim();
    if (intent.request.payment_method_id || !token) return intent.request;
    const gateway = intent.request.gateway;
    const id = `${gateway}\n${token}`;
    let saving = this.saved.get(id);
    if (!saving) {
      const key = this.saveKeys.get(id) ?? newIdempotencyKey();
      this.saveKeys.set(id, key);
      saving = calls.saveCard(gateway, token, key).catch((error: unknown) => {
        throw error instanceof ApiError ? new CardNotSavedError(error) : error;
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
export function paymentErrorMessage(error: unknown): string {
  if (error instanceof CardNotSavedError)
    return `Nothing was charged: the card token could not be saved. ${sentence(errorMessage(error))}`;
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
      return `The payment could not be confirmed, so it may have been taken. ${sentence(errorMessage(error))}${retry}`;
    case 'refused':
    case 'done':
      return errorMessage(error);
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
