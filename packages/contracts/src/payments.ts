/**
 * The payments API's DTOs (api-contract.md, "Payments"), for clients such as the web app. Money is
 * integer minor units with its ISO 4217 currency.
 */
import type { Gateway } from './event-data';
import type { DisputeStatus, PaymentStatus, RefundStatus } from './statuses';

export type PaymentMethodType = 'card' | 'cash' | 'check' | 'paypal';

export interface PaymentMethodDto {
  id: string;
  gateway: Gateway;
  type: PaymentMethodType;
  brand: string | null;
  last4: string | null;
  exp_month: number | null;
  exp_year: number | null;
  label: string | null;
  is_default: boolean;
  created_at: string;
}

export type PaymentNextAction =
  | { type: 'redirect'; url: string }
  | { type: 'terminal_checkout'; checkout_id: string; device_id: string | null }
  | { type: 'customer_action'; detail: string };

export interface PaymentDto {
  id: string;
  order_id: string;
  gateway: Gateway;
  payment_method_id: string | null;
  amount: number;
  currency: string;
  status: PaymentStatus;
  capture: boolean;
  amount_authorized: number;
  amount_captured: number;
  amount_refunded: number;
  gateway_reference: string | null;
  next_action: PaymentNextAction | null;
  /** A gateway call not finished: in flight, or accepted and held by the gateway (a capture under review). */
  pending_operation: 'authorize' | 'charge' | 'capture' | 'void' | 'confirm' | null;
  failure_code: string | null;
  failure_message: string | null;
  change_due: number | null;
  created_at: string;
  updated_at: string;
}

export interface PaymentTransactionDto {
  id: string;
  kind: 'authorize' | 'charge' | 'capture' | 'void' | 'refund' | 'confirm';
  amount: number;
  currency: string;
  gateway_reference: string | null;
  idempotency_key: string;
  outcome: 'pending' | 'succeeded' | 'declined' | 'unknown';
  failure_code: string | null;
  failure_message: string | null;
  latency_ms: number | null;
  attempts: number;
  created_at: string;
  updated_at: string;
}

export interface PaymentDetailDto extends PaymentDto {
  transactions: PaymentTransactionDto[];
}

export interface CreatePaymentRequestDto {
  order_id: string;
  amount: number;
  currency: string;
  gateway: Gateway;
  payment_method_id?: string;
  capture?: boolean;
  cash_tendered?: number;
}

export interface RefundDto {
  id: string;
  payment_id: string;
  amount: number;
  currency: string;
  status: RefundStatus;
  reason: string | null;
  gateway_reference: string | null;
  failure_code: string | null;
  /** Why it failed, in words: the gateway's refusal, or the reason given for declining it. */
  failure_message: string | null;
  created_at: string;
  updated_at: string;
  processed_at: string | null;
}

/** A dispute (a chargeback, or an inquiry before one), answered in the gateway's dashboard by `evidence_due_by`. */
export interface DisputeDto {
  id: string;
  payment_id: string;
  gateway: Gateway;
  gateway_reference: string;
  amount: number;
  currency: string;
  reason: string | null;
  status: DisputeStatus;
  evidence_due_by: string | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

export interface PaymentTotalsDto {
  count: number;
  gross: number;
  refunded: number;
  net: number;
}

export interface PaymentSummaryDto {
  from: string;
  to: string;
  currencies: (PaymentTotalsDto & {
    currency: string;
    by_gateway: (PaymentTotalsDto & { gateway: Gateway })[];
    by_status: { status: PaymentStatus; count: number; amount: number }[];
    by_day: (PaymentTotalsDto & { day: string })[];
  })[];
}

export type ReconciliationResult =
  'matched' | 'missing_local' | 'missing_gateway' | 'amount_mismatch' | 'status_mismatch';

export interface ReconciliationItemDto {
  id: string;
  run_id: string;
  gateway: Gateway;
  result: ReconciliationResult;
  payment_id: string | null;
  gateway_reference: string | null;
  currency: string | null;
  local_amount: number | null;
  gateway_amount: number | null;
  local_refunded: number | null;
  gateway_refunded: number | null;
  local_status: string | null;
  gateway_status: string | null;
  period_from: string;
  period_to: string;
  created_at: string;
}

export interface ReconciliationRunDto {
  id: string;
  gateway: Gateway;
  from: string;
  to: string;
  counts: Record<ReconciliationResult, number>;
  rows: ReconciliationItemDto[];
}

/** GET /tenants/current/gateways: which accounts are set, never their secrets. */
export interface GatewaySettingsDto {
  gateway: 'stripe' | 'square' | 'paypal';
  configured: boolean;
  source: 'tenant' | 'environment' | null;
  settings: Record<string, string>;
  secrets_set: string[];
  updated_at: string | null;
}
