import type { DisputeStatus, Gateway, PaymentStatus, RefundStatus } from '@tessera/contracts';
import {
  sql,
  type ColumnType,
  type ExpressionBuilder,
  type Generated,
  type Insertable,
  type Selectable,
} from 'kysely';
import type { DB, Json, Timestamp } from '../../platform/db/tables';
import { createdBetween, newestPage } from '../../platform/db/pages';
import type { Executor, Tx } from '../../platform/db/tenant';
import type { GatewayReference, NextAction } from './gateways';

declare module '../../platform/db/tables' {
  interface DB {
    payment_gateway_settings: PaymentGatewaySettingsTable;
    payment_methods: PaymentMethodsTable;
    payments: PaymentsTable;
    refunds: RefundsTable;
    payment_transactions: PaymentTransactionsTable;
    payment_webhook_events: PaymentWebhookEventsTable;
    payment_reconciliation: PaymentReconciliationTable;
    payment_order_balances: PaymentOrderBalancesTable;
    payment_disputes: PaymentDisputesTable;
  }
}

type Money = ColumnType<number, number | undefined, number>;
type Updated = ColumnType<Date, Date | string | undefined, Date | string>;

export type ConfigurableGateway = 'stripe' | 'square' | 'paypal';
export type TransactionKind = 'authorize' | 'charge' | 'capture' | 'void' | 'refund' | 'confirm';
/** A call on a payment itself; refunds are rows of their own. */
export type PendingOperation = Exclude<TransactionKind, 'refund'>;
export type TransactionOutcome = 'pending' | 'succeeded' | 'declined' | 'unknown';
export type ReconciliationResult =
  'matched' | 'missing_local' | 'missing_gateway' | 'amount_mismatch' | 'status_mismatch';

/** Kept by a trigger on payments (migration 0010): read only. */
export interface PaymentOrderBalancesTable {
  order_id: string;
  tenant_id: string;
  committed: number;
}

export interface PaymentGatewaySettingsTable {
  tenant_id: string;
  gateway: ConfigurableGateway;
  settings: Json<Record<string, string>>;
  secrets_sealed: string;
  created_at: Generated<Date>;
  updated_at: Updated;
}

export interface PaymentMethodsTable {
  id: string;
  tenant_id: string;
  gateway: Gateway;
  type: 'card' | 'cash' | 'check' | 'paypal';
  gateway_token: string | null;
  brand: string | null;
  last4: string | null;
  exp_month: number | null;
  exp_year: number | null;
  label: string | null;
  is_default: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Updated;
}

export interface PaymentsTable {
  id: string;
  tenant_id: string;
  order_id: string;
  gateway: Gateway;
  payment_method_id: string | null;
  amount: number;
  currency: string;
  status: PaymentStatus;
  capture: boolean;
  amount_authorized: Money;
  amount_captured: Money;
  amount_refunded: Money;
  gateway_reference: string | null;
  gateway_data: ColumnType<Partial<GatewayReference>, string | undefined, string>;
  next_action: Json<NextAction | null> | null;
  failure_code: string | null;
  failure_message: string | null;
  cash_tendered: number | null;
  change_due: number | null;
  pending_operation: PendingOperation | null;
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Updated;
}

export interface RefundsTable {
  id: string;
  tenant_id: string;
  payment_id: string;
  amount: number;
  currency: string;
  status: RefundStatus;
  reason: string | null;
  gateway_reference: string | null;
  failure_code: string | null;
  failure_message: string | null;
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Updated;
  processed_at: Date | null;
}

export interface PaymentDisputesTable {
  id: string;
  tenant_id: string;
  payment_id: string;
  gateway: Gateway;
  gateway_reference: string;
  amount: number;
  currency: string;
  reason: string | null;
  status: DisputeStatus;
  evidence_due_by: Date | null;
  created_at: Generated<Date>;
  updated_at: Updated;
  closed_at: Date | null;
}

export interface PaymentTransactionsTable {
  id: string;
  tenant_id: string;
  payment_id: string;
  refund_id: string | null;
  kind: TransactionKind;
  amount: number;
  currency: string;
  idempotency_key: string;
  request_fingerprint: string;
  /** The request's parameters, so that a retry resends exactly the same request. */
  request: Json<Record<string, unknown>>;
  gateway_reference: string | null;
  outcome: TransactionOutcome;
  failure_code: string | null;
  failure_message: string | null;
  raw_response: Json<unknown> | null;
  latency_ms: number | null;
  attempts: Generated<number>;
  created_at: Timestamp;
  updated_at: Updated;
}

export interface PaymentWebhookEventsTable {
  gateway: Gateway;
  event_id: string;
  tenant_id: string;
  type: string;
  payment_id: string | null;
  refund_id: string | null;
  payload: Json<unknown>;
  received_at: Generated<Date>;
}

export interface PaymentReconciliationTable {
  id: string;
  tenant_id: string;
  run_id: string;
  gateway: Gateway;
  period_from: Date;
  period_to: Date;
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
  created_at: Generated<Date>;
}

export type PaymentRow = Selectable<PaymentsTable>;
export type RefundRow = Selectable<RefundsTable>;
export type MethodRow = Selectable<PaymentMethodsTable>;
export type TransactionRow = Selectable<PaymentTransactionsTable>;
export type ReconciliationRow = Selectable<PaymentReconciliationTable>;
export type DisputeRow = Selectable<PaymentDisputesTable>;
export type PaymentPatch = Partial<
  Pick<
    PaymentRow,
    | 'status'
    | 'amount_authorized'
    | 'amount_captured'
    | 'amount_refunded'
    | 'gateway_reference'
    | 'failure_code'
    | 'failure_message'
    | 'pending_operation'
  > & { gateway_data: Partial<GatewayReference>; next_action: NextAction | null }
>;

/** A gateway's raw answer as JSON; the Square SDK holds amounts as BigInt. */
const rawJson = (value: unknown): string =>
  JSON.stringify(value ?? null, (_key, item: unknown) => (typeof item === 'bigint' ? Number(item) : item));

/** A payment a gateway may name by any of these ids: its main reference, a capture id, a payment id. */
function listedUnder(eb: ExpressionBuilder<DB, 'payments'>, references: string[]) {
  return eb.or([
    eb('gateway_reference', 'in', references),
    eb.and([
      sql<boolean>`gateway_data ? 'capture_id'`,
      eb(sql`gateway_data ->> 'capture_id'`, 'in', references),
    ]),
    eb.and([
      sql<boolean>`gateway_data ? 'payment_id'`,
      eb(sql`gateway_data ->> 'payment_id'`, 'in', references),
    ]),
  ]);
}

/**
 * The SQL of the payments module, and nothing else. A row read "for update" is locked FOR NO KEY
 * UPDATE: writers of one payment or refund still queue behind each other, but inserting a row that
 * references it (a transaction, a refund) only takes KEY SHARE, which that lock lets through.
 */
export const paymentsRepository = {
  async settings(db: Executor, gateway: ConfigurableGateway, options: { forUpdate?: boolean } = {}) {
    let query = db.selectFrom('payment_gateway_settings').selectAll().where('gateway', '=', gateway);
    if (options.forUpdate) query = query.forUpdate();
    return query.executeTakeFirst();
  },

  async allSettings(db: Executor) {
    return db.selectFrom('payment_gateway_settings').selectAll().orderBy('gateway').execute();
  },

  /** Every tenant's sealed gateway secrets; for re-sealing, on the owner's connection. */
  async sealedSettingsOfAllTenants(db: Executor) {
    return db
      .selectFrom('payment_gateway_settings')
      .select(['tenant_id', 'gateway', 'secrets_sealed'])
      .execute();
  },

  async setSecretsSealed(db: Executor, tenantId: string, gateway: ConfigurableGateway, sealed: string) {
    await db
      .updateTable('payment_gateway_settings')
      .set({ secrets_sealed: sealed })
      .where('tenant_id', '=', tenantId)
      .where('gateway', '=', gateway)
      .execute();
  },

  async saveSettings(
    tx: Tx,
    row: {
      tenant_id: string;
      gateway: ConfigurableGateway;
      settings: Record<string, string>;
      secrets_sealed: string;
    },
  ) {
    return tx
      .insertInto('payment_gateway_settings')
      .values({ ...row, settings: JSON.stringify(row.settings) })
      .onConflict((conflict) =>
        conflict.columns(['tenant_id', 'gateway']).doUpdateSet({
          settings: JSON.stringify(row.settings),
          secrets_sealed: row.secrets_sealed,
          updated_at: new Date(),
        }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
  },

  /** Deletes the tenant's own account of a gateway (row-level security scopes it); true if there was one. */
  async deleteSettings(tx: Tx, gateway: ConfigurableGateway): Promise<boolean> {
    const deleted = await tx
      .deleteFrom('payment_gateway_settings')
      .where('gateway', '=', gateway)
      .executeTakeFirst();
    return deleted.numDeletedRows > 0n;
  },

  async insertMethod(
    tx: Tx,
    row: Omit<PaymentMethodsTable, 'created_at' | 'updated_at' | 'is_default'> & { is_default: boolean },
  ) {
    if (row.is_default)
      await tx
        .updateTable('payment_methods')
        .set({ is_default: false })
        .where('is_default', '=', true)
        .execute();
    return tx.insertInto('payment_methods').values(row).returningAll().executeTakeFirstOrThrow();
  },

  async updateMethod(tx: Tx, id: string, patch: { label?: string | null; is_default?: boolean }) {
    if (patch.is_default) {
      await tx
        .updateTable('payment_methods')
        .set({ is_default: false })
        .where('is_default', '=', true)
        .where('id', '!=', id)
        .execute();
    }
    return tx
      .updateTable('payment_methods')
      .set({ ...patch, updated_at: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  },

  async deleteMethod(tx: Tx, id: string) {
    const result = await tx.deleteFrom('payment_methods').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  },

  async method(db: Executor, id: string) {
    return db.selectFrom('payment_methods').selectAll().where('id', '=', id).executeTakeFirst();
  },

  async methods(db: Executor, limit: number, after: string | null) {
    let query = db
      .selectFrom('payment_methods')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (after) query = query.where('id', '<', after);
    return query.execute();
  },

  /** A new payment with the record of its first gateway call, in one statement. */
  async insertPayment(
    tx: Tx,
    row: Insertable<PaymentsTable>,
    firstCall: Insertable<PaymentTransactionsTable>,
  ) {
    return tx
      .with('recorded', (db) => db.insertInto('payment_transactions').values(firstCall))
      .insertInto('payments')
      .values(row)
      .returningAll()
      .executeTakeFirstOrThrow();
  },

  async payment(db: Executor, id: string, options: { forUpdate?: boolean } = {}) {
    let query = db.selectFrom('payments').selectAll().where('id', '=', id);
    if (options.forUpdate) query = query.forNoKeyUpdate();
    return query.executeTakeFirst();
  },

  async paymentByReference(
    db: Executor,
    gateways: Gateway[],
    reference: string,
    options: { forUpdate?: boolean } = {},
  ) {
    let query = db
      .selectFrom('payments')
      .selectAll()
      .where('gateway', 'in', gateways)
      .where('gateway_reference', '=', reference);
    if (options.forUpdate) query = query.forNoKeyUpdate();
    return query.executeTakeFirst();
  },

  /** A payment of these gateways by our own id, which the gateway's objects carry. */
  async paymentOfGateways(
    db: Executor,
    gateways: Gateway[],
    id: string,
    options: { forUpdate?: boolean } = {},
  ) {
    let query = db.selectFrom('payments').selectAll().where('gateway', 'in', gateways).where('id', '=', id);
    if (options.forUpdate) query = query.forNoKeyUpdate();
    return query.executeTakeFirst();
  },

  async updatePayment(tx: Tx, id: string, patch: PaymentPatch) {
    const { gateway_data, next_action, ...rest } = patch;
    return tx
      .updateTable('payments')
      .set({
        ...rest,
        ...(gateway_data ? { gateway_data: JSON.stringify(gateway_data) } : {}),
        ...(next_action !== undefined
          ? { next_action: next_action === null ? null : JSON.stringify(next_action) }
          : {}),
        updated_at: new Date(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  },

  async payments(
    db: Executor,
    filter: { order_id?: string | undefined; status?: PaymentStatus | undefined },
    limit: number,
    after: string | null,
  ) {
    return newestPage(db.selectFrom('payments').selectAll(), filter, limit, after).execute();
  },

  /** The order of each of these payments, by payment id: one query for a page of refunds. */
  async ordersOfPayments(db: Executor, paymentIds: readonly string[]): Promise<Map<string, string>> {
    if (paymentIds.length === 0) return new Map();
    const rows = await db
      .selectFrom('payments')
      .select(['id', 'order_id'])
      .where('id', 'in', paymentIds)
      .execute();
    return new Map(rows.map((row) => [row.id, row.order_id]));
  },

  /** Every payment of these orders, newest first: one query for a page of orders. */
  async paymentsOfOrders(db: Executor, orderIds: readonly string[]) {
    if (orderIds.length === 0) return [];
    return db
      .selectFrom('payments')
      .selectAll()
      .where('order_id', 'in', orderIds)
      .orderBy('id', 'desc')
      .execute();
  },

  /** What an order's payments already hold or are taking, so a new one cannot overpay it. */
  async committedToOrder(tx: Tx, orderId: string): Promise<number> {
    const row = await tx
      .selectFrom('payment_order_balances')
      .select('committed')
      .where('order_id', '=', orderId)
      .executeTakeFirst();
    return row?.committed ?? 0;
  },

  /** What the order's payments captured and did not refund, as committed. */
  async capturedNotRefunded(tx: Tx, orderId: string): Promise<number> {
    const row = await tx
      .selectFrom('payments')
      .select((eb) =>
        eb.fn
          .coalesce(eb.fn.sum<number>(sql<number>`amount_captured - amount_refunded`), sql<number>`0`)
          .as('held'),
      )
      .where('order_id', '=', orderId)
      .executeTakeFirstOrThrow();
    return Number(row.held);
  },

  /** The order's payments that hold or took money: pending, authorized, completed or partly refunded. */
  async heldPaymentsOfOrder(tx: Tx, orderId: string) {
    return tx
      .selectFrom('payments')
      .select(['id', 'status'])
      .where('order_id', '=', orderId)
      .where('status', 'in', ['pending', 'authorized', 'completed', 'partially_refunded'])
      .execute();
  },

  /** Payments of these gateways still pending, created before `before`, oldest first, across tenants. */
  async pendingAtGateway(tx: Tx, gateways: Gateway[], before: Date, limit: number) {
    return tx
      .selectFrom('payments')
      .select(['id', 'tenant_id'])
      .where('status', '=', 'pending')
      .where('gateway', 'in', gateways)
      .where('created_at', '<', before)
      .orderBy('created_at')
      .limit(limit)
      .execute();
  },

  /**
   * Authorized payments whose capture the gateway holds (or whose capture call is still out),
   * unchanged since before `before`, across tenants, longest unchanged first.
   */
  async capturesHeldAtGateway(tx: Tx, before: Date, limit: number) {
    return tx
      .selectFrom('payments')
      .select(['id', 'tenant_id'])
      .where('status', '=', 'authorized')
      .where('pending_operation', '=', 'capture')
      .where('updated_at', '<', before)
      .orderBy('updated_at')
      .limit(limit)
      .execute();
  },

  /** Refunds the gateway answered pending, unchanged since before `before`, across tenants, oldest first. */
  async refundsPendingAtGateway(tx: Tx, before: Date, limit: number) {
    return tx
      .selectFrom('refunds')
      .select(['id', 'tenant_id'])
      .where('status', '=', 'pending')
      .where('gateway_reference', 'is not', null)
      .where('updated_at', '<', before)
      .orderBy('updated_at')
      .limit(limit)
      .execute();
  },

  /**
   * Pending or authorized payments with no operation in flight (a held capture settles first),
   * created before `before`, across tenants, by id after `afterId`.
   */
  async openPaymentsBefore(tx: Tx, before: Date, afterId: string | null, limit: number) {
    let query = tx
      .selectFrom('payments')
      .select(['id', 'tenant_id', 'order_id'])
      .where('status', 'in', ['pending', 'authorized'])
      .where('pending_operation', 'is', null)
      .where('created_at', '<', before)
      .orderBy('id')
      .limit(limit);
    if (afterId) query = query.where('id', '>', afterId);
    return query.execute();
  },

  async insertTransaction(tx: Tx, row: Insertable<PaymentTransactionsTable>) {
    return tx
      .insertInto('payment_transactions')
      .values(row)
      .onConflict((conflict) =>
        conflict.columns(['tenant_id', 'idempotency_key']).doUpdateSet({
          attempts: sql`payment_transactions.attempts + 1`,
          outcome: 'pending',
          updated_at: new Date(),
        }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
  },

  async settleTransaction(
    tx: Tx,
    id: string,
    patch: {
      outcome: TransactionOutcome;
      gateway_reference?: string | null;
      failure_code?: string | null;
      failure_message?: string | null;
      raw_response: unknown;
      latency_ms: number;
    },
  ) {
    await tx
      .updateTable('payment_transactions')
      .set({ ...patch, raw_response: rawJson(patch.raw_response), updated_at: new Date() })
      .where('id', '=', id)
      .execute();
  },

  async transactions(db: Executor, paymentId: string) {
    return db
      .selectFrom('payment_transactions')
      .selectAll()
      .where('payment_id', '=', paymentId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  },

  async transaction(db: Executor, id: string) {
    return db.selectFrom('payment_transactions').selectAll().where('id', '=', id).executeTakeFirst();
  },

  /** The gateway call recorded under this idempotency key (the tenant's: keys are per tenant). */
  async transactionByKey(db: Executor, idempotencyKey: string) {
    return db
      .selectFrom('payment_transactions')
      .selectAll()
      .where('idempotency_key', '=', idempotencyKey)
      .executeTakeFirst();
  },

  /** Gateway calls to resend, across tenants: unknown ones, and pending ones last tried before `abandonedBefore`. */
  async unsettledTransactions(db: Executor, abandonedBefore: Date, limit: number) {
    // Least recently tried first: each retry touches its row, so calls that stay unknown rotate.
    return db
      .selectFrom('payment_transactions')
      .select(['id', 'tenant_id'])
      .where('outcome', 'in', ['pending', 'unknown'])
      .where((eb) => eb.or([eb('outcome', '=', 'unknown'), eb('updated_at', '<', abandonedBefore)]))
      .orderBy('updated_at')
      .limit(limit)
      .execute();
  },

  async insertRefund(tx: Tx, row: Insertable<RefundsTable>) {
    return tx.insertInto('refunds').values(row).returningAll().executeTakeFirstOrThrow();
  },

  async refund(db: Executor, id: string, options: { forUpdate?: boolean } = {}) {
    let query = db.selectFrom('refunds').selectAll().where('id', '=', id);
    if (options.forUpdate) query = query.forNoKeyUpdate();
    return query.executeTakeFirst();
  },

  async refundByReference(db: Executor, reference: string, options: { forUpdate?: boolean } = {}) {
    let query = db.selectFrom('refunds').selectAll().where('gateway_reference', '=', reference);
    if (options.forUpdate) query = query.forNoKeyUpdate();
    return query.executeTakeFirst();
  },

  async updateRefund(
    tx: Tx,
    id: string,
    patch: Partial<
      Pick<RefundRow, 'status' | 'gateway_reference' | 'failure_code' | 'failure_message' | 'processed_at'>
    >,
  ) {
    return tx
      .updateTable('refunds')
      .set({ ...patch, updated_at: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  },

  /** The sum of a payment's refunds that are not failed: what is promised back already. */
  async refundedOrPending(tx: Tx, paymentId: string): Promise<number> {
    const row = await tx
      .selectFrom('refunds')
      .select(sql<number>`coalesce(sum(amount), 0)::bigint`.as('total'))
      .where('payment_id', '=', paymentId)
      .where('status', '!=', 'failed')
      .executeTakeFirstOrThrow();
    return row.total;
  },

  /**
   * A page of refunds, newest first (ids are UUIDv7). Filtered by status, the tenant's rows in that
   * status are read in id order from refunds_tenant_status (migration 0017): the approvals page
   * asks for `pending` ones, however many processed ones are newer.
   */
  async refunds(
    db: Executor,
    filter: { payment_id?: string | undefined; status?: RefundStatus | undefined },
    limit: number,
    after: string | null,
  ) {
    return newestPage(db.selectFrom('refunds').selectAll(), filter, limit, after).execute();
  },

  /** Every refund of these payments, newest first: one query for a page of payments. */
  async refundsOfPayments(db: Executor, paymentIds: readonly string[]) {
    if (paymentIds.length === 0) return [];
    return db
      .selectFrom('refunds')
      .selectAll()
      .where('payment_id', 'in', paymentIds)
      .orderBy('id', 'desc')
      .execute();
  },

  async dispute(db: Executor, id: string) {
    return db.selectFrom('payment_disputes').selectAll().where('id', '=', id).executeTakeFirst();
  },

  async disputeByReference(tx: Tx, paymentId: string, reference: string) {
    return tx
      .selectFrom('payment_disputes')
      .selectAll()
      .where('payment_id', '=', paymentId)
      .where('gateway_reference', '=', reference)
      .forNoKeyUpdate()
      .executeTakeFirst();
  },

  async insertDispute(tx: Tx, row: Insertable<PaymentDisputesTable>) {
    return tx.insertInto('payment_disputes').values(row).returningAll().executeTakeFirstOrThrow();
  },

  async updateDispute(
    tx: Tx,
    id: string,
    patch: Partial<Pick<DisputeRow, 'amount' | 'reason' | 'status' | 'evidence_due_by' | 'closed_at'>>,
  ) {
    return tx
      .updateTable('payment_disputes')
      .set({ ...patch, updated_at: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  },

  async disputes(
    db: Executor,
    filter: { payment_id?: string | undefined; status?: DisputeStatus | undefined },
    limit: number,
    after: string | null,
  ) {
    return newestPage(db.selectFrom('payment_disputes').selectAll(), filter, limit, after).execute();
  },

  /** Stores a webhook delivery; false when this gateway event was stored before. */
  async recordWebhook(
    tx: Tx,
    row: Omit<PaymentWebhookEventsTable, 'received_at' | 'payload'> & { payload: string },
  ): Promise<boolean> {
    const inserted = await tx
      .insertInto('payment_webhook_events')
      .values(row)
      .onConflict((conflict) => conflict.columns(['gateway', 'event_id']).doNothing())
      .returning('event_id')
      .executeTakeFirst();
    return inserted !== undefined;
  },

  /**
   * The tenant a gateway object belongs to: webhooks arrive without one (a global lookup). It is
   * found by the gateway's ids, or by our own payment and refund ids (`ourIds`, UUIDs) that the
   * object carries, which name it before its gateway id is stored.
   */
  async tenantOfReference(
    db: Executor,
    gateways: Gateway[],
    references: string[],
    ourIds: string[],
  ): Promise<string | null> {
    if (references.length === 0 && ourIds.length === 0) return null;
    const payment = await db
      .selectFrom('payments')
      .select('tenant_id')
      .where('gateway', 'in', gateways)
      .where((eb) =>
        eb.or([
          ...(references.length ? [listedUnder(eb, references)] : []),
          ...(ourIds.length ? [eb('id', 'in', ourIds)] : []),
        ]),
      )
      .executeTakeFirst();
    if (payment) return payment.tenant_id;
    const refund = await db
      .selectFrom('refunds')
      .select('tenant_id')
      .where((eb) =>
        eb.or([
          ...(references.length ? [eb('gateway_reference', 'in', references)] : []),
          ...(ourIds.length ? [eb('id', 'in', ourIds)] : []),
        ]),
      )
      .executeTakeFirst();
    return refund?.tenant_id ?? null;
  },

  async paymentsCreatedBetween(db: Executor, gateways: Gateway[], from: Date, to: Date) {
    return db
      .selectFrom('payments')
      .selectAll()
      .where('gateway', 'in', gateways)
      .where('created_at', '>=', from)
      .where('created_at', '<', to)
      .execute();
  },

  /** Payments made in [from, to), in the order made, a page after `afterId`. */
  async madeBetween(db: Executor, from: Date, to: Date, afterId: string | null, limit: number) {
    return createdBetween(db.selectFrom('payments').selectAll(), from, to, afterId, limit).execute();
  },

  /** Payments a gateway lists under any of these ids: the main reference, a capture id or a payment id. */
  async paymentsByReferences(db: Executor, gateways: Gateway[], references: string[]) {
    if (references.length === 0) return [];
    return db
      .selectFrom('payments')
      .selectAll()
      .where('gateway', 'in', gateways)
      .where((eb) => listedUnder(eb, references))
      .execute();
  },

  /** Per payment, the refunds still pending: sent to the gateway, or about to be. */
  async pendingRefundTotals(db: Executor, paymentIds: string[]): Promise<Map<string, number>> {
    if (paymentIds.length === 0) return new Map();
    const rows = await db
      .selectFrom('refunds')
      .select(['payment_id', sql<number>`sum(amount)::bigint`.as('amount')])
      .where('payment_id', 'in', paymentIds)
      .where('status', '=', 'pending')
      .groupBy('payment_id')
      .execute();
    return new Map(rows.map((row) => [row.payment_id, Number(row.amount)]));
  },

  async insertReconciliation(tx: Tx, rows: Omit<PaymentReconciliationTable, 'created_at'>[]) {
    if (rows.length === 0) return;
    await tx.insertInto('payment_reconciliation').values(rows).execute();
  },

  async reconciliation(
    db: Executor,
    filter: { run_id?: string | undefined; result?: ReconciliationResult | undefined },
    limit: number,
    after: string | null,
  ) {
    return newestPage(db.selectFrom('payment_reconciliation').selectAll(), filter, limit, after).execute();
  },

  /** The period's payments per currency, then split by gateway, status and UTC day: all in SQL. */
  async summary(db: Executor, from: Date, to: Date) {
    const totals = sql`count(*)::bigint as count, coalesce(sum(amount_captured), 0)::bigint as gross,
      coalesce(sum(amount_refunded), 0)::bigint as refunded,
      coalesce(sum(amount_captured - amount_refunded), 0)::bigint as net`;
    const period = sql`created_at >= ${from} and created_at < ${to}`;
    type Totals = { currency: string; count: number; gross: number; refunded: number; net: number };
    const [currencies, byGateway, byStatus, byDay] = await Promise.all([
      sql<Totals>`select currency, ${totals} from payments where ${period} group by currency order by currency`.execute(
        db,
      ),
      sql<Totals & { gateway: Gateway }>`select currency, gateway, ${totals} from payments where ${period}
        group by currency, gateway order by currency, gateway`.execute(db),
      sql<{ currency: string; status: PaymentStatus; count: number; amount: number }>`
        select currency, status, count(*)::bigint as count, coalesce(sum(amount), 0)::bigint as amount
        from payments where ${period} group by currency, status order by currency, status`.execute(db),
      sql<
        Totals & { day: string }
      >`select currency, to_char(date_trunc('day', created_at at time zone 'UTC'), 'YYYY-MM-DD') as day,
        ${totals} from payments where ${period} group by currency, 2 order by currency, 2`.execute(db),
    ]);
    return {
      currencies: currencies.rows,
      byGateway: byGateway.rows,
      byStatus: byStatus.rows,
      byDay: byDay.rows,
    };
  },
};
