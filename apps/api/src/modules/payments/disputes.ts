import { uuidv7, type DisputeEventData, type DisputeStatus, type Gateway } from '@tessera/contracts';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../../platform/db/tables';
import { withTenantRead, type Tx } from '../../platform/db/tenant';
import { notFound } from '../../platform/errors';
import { addEvents, SYSTEM_ACTOR } from '../../platform/events/outbox';
import { decodeCursor, Uuid } from '../../platform/http/schemas';
import type { GatewayDisputeChange } from './gateways';
import { page, PAGE } from './paging';
import { paymentsRepository as repo, type DisputeRow, type PaymentRow } from './repository';
import type { Dispute, DisputeListQuery } from './schemas';

const FINAL: ReadonlySet<DisputeStatus> = new Set(['won', 'lost']);
const iso = (date: Date | null) => (date ? date.toISOString() : null);

export function toDisputeDto(row: DisputeRow): Dispute {
  return {
    id: row.id,
    payment_id: row.payment_id,
    gateway: row.gateway,
    gateway_reference: row.gateway_reference,
    amount: row.amount,
    currency: row.currency,
    reason: row.reason,
    status: row.status,
    evidence_due_by: iso(row.evidence_due_by),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    closed_at: iso(row.closed_at),
  };
}

function eventData(row: DisputeRow, payment: PaymentRow): DisputeEventData {
  return {
    dispute_id: row.id,
    payment_id: payment.id,
    order_id: payment.order_id,
    gateway: payment.gateway,
    status: row.status,
    amount: row.amount,
    currency: row.currency,
    reason: row.reason,
    evidence_due_by: iso(row.evidence_due_by),
  };
}

/**
 * Disputes as the gateways' webhooks tell of them. The merchant answers a dispute in the gateway's
 * dashboard; here it is listed with the date by which to answer, and announced when it opens or
 * moves (`payment.disputed`), so that whoever handles payments hears of it at once.
 */
export class DisputesService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly logger: Logger,
  ) {}

  async list(tenantId: string, query: DisputeListQuery) {
    const limit = query.limit ?? PAGE;
    const rows = await withTenantRead(this.db, tenantId, (tx) =>
      repo.disputes(
        tx,
        { payment_id: query.payment_id, status: query.status },
        limit,
        decodeCursor(query.cursor, Uuid),
      ),
    );
    return page(rows, limit, toDisputeDto);
  }

  async get(tenantId: string, id: string): Promise<Dispute> {
    const row = await withTenantRead(this.db, tenantId, (tx) => repo.dispute(tx, id));
    if (!row) throw notFound('dispute');
    return toDisputeDto(row);
  }

  /**
   * Stores a dispute of one of the tenant's payments, once per gateway id, or moves the one stored.
   * Deliveries can come out of order: a decided dispute (won or lost) is not reopened by an older
   * event that arrives after the decision.
   */
  async record(tx: Tx, gateways: Gateway[], change: GatewayDisputeChange): Promise<void> {
    const currency = change.currency.toUpperCase();
    const [payment] = change.payment_reference
      ? await repo.paymentsByReferences(tx, gateways, [change.payment_reference])
      : [];
    if (!payment || !/^[A-Z]{3}$/.test(currency)) {
      this.logger.warn(
        { dispute: change.reference, payment: change.payment_reference },
        'a dispute names no payment of ours, or no currency; not recorded',
      );
      return;
    }
    const now = new Date();
    const closedAt = FINAL.has(change.status) ? now : null;
    const reason = change.reason?.slice(0, 200) ?? null;
    const stored = await repo.disputeByReference(tx, payment.id, change.reference);
    let row: DisputeRow;
    if (!stored) {
      row = await repo.insertDispute(tx, {
        id: uuidv7(),
        tenant_id: payment.tenant_id,
        payment_id: payment.id,
        gateway: payment.gateway,
        gateway_reference: change.reference,
        amount: change.amount,
        currency,
        reason,
        status: change.status,
        evidence_due_by: change.evidence_due_by,
        updated_at: now,
        closed_at: closedAt,
      });
    } else {
      if (FINAL.has(stored.status) && !FINAL.has(change.status)) return;
      row = await repo.updateDispute(tx, stored.id, {
        amount: change.amount,
        reason,
        status: change.status,
        evidence_due_by: change.evidence_due_by,
        closed_at: stored.status === change.status ? stored.closed_at : closedAt,
      });
      if (stored.status === change.status) return;
    }
    addEvents(tx, [
      {
        type: 'payment.disputed',
        tenantId: payment.tenant_id,
        actor: SYSTEM_ACTOR,
        data: eventData(row, payment),
      },
    ]);
  }
}
