import {
  GatewayDeclined,
  InvalidWebhookSignature,
  type CaptureRequest,
  type CardDetails,
  type CreatePaymentRequest,
  type GatewayPayment,
  type GatewayReference,
  type GatewayRefund,
  type GatewayRefundChange,
  type GatewayWebhookEvent,
  type PaymentGateway,
  type RefundRequest,
} from './types';

/**
 * Cash and checks taken at the counter: nothing to call, the money is in hand, so a payment
 * completes at once and a refund is paid out at once. Its reference is our own payment id.
 */
export class ManualGateway implements PaymentGateway {
  readonly name = 'manual' as const;

  async createPayment(request: CreatePaymentRequest): Promise<GatewayPayment> {
    if (!request.capture)
      throw new GatewayDeclined('capture_required', 'Cash and checks cannot be authorized only', null);
    return {
      reference: { id: `manual_${request.paymentId}` },
      status: 'completed',
      amount: request.amount,
      currency: request.currency,
      amount_authorized: request.amount,
      amount_captured: request.amount,
      amount_refunded: 0,
      next_action: null,
      failure_code: null,
      failure_message: null,
      created_at: new Date(),
      raw: null,
    };
  }

  async capture(_request: CaptureRequest): Promise<GatewayPayment> {
    throw new GatewayDeclined('unsupported', 'Manual payments are captured when taken', null);
  }

  async void(): Promise<GatewayPayment> {
    throw new GatewayDeclined('unsupported', 'Manual payments complete at once', null);
  }

  async refund(request: RefundRequest): Promise<GatewayRefund> {
    return { reference: `manual_${request.refundId}`, status: 'processed', failure_code: null, raw: null };
  }

  async fetchPaymentMethod(): Promise<CardDetails> {
    return { brand: null, last4: null, exp_month: null, exp_year: null };
  }

  async retrieve(_reference: GatewayReference): Promise<GatewayPayment | null> {
    return null;
  }

  async retrieveRefund(): Promise<GatewayRefund | null> {
    return null;
  }

  async listPayments(): Promise<GatewayPayment[]> {
    return [];
  }

  async listRefunds(): Promise<GatewayRefundChange[]> {
    return [];
  }

  async parseWebhook(): Promise<GatewayWebhookEvent> {
    throw new InvalidWebhookSignature('Manual payments have no webhooks');
  }
}
