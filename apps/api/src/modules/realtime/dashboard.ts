import type { DashboardData, EventEnvelope } from '@tessera/contracts';
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../../platform/db/tables';
import { withTenant } from '../../platform/db/tenant';
import { DASHBOARD_EVENT_TYPES } from './channels';
import type { RealtimeHub } from './hub';

/** Today's figures of a tenant (UTC day). */
export interface DashboardFigures {
  today(tenantId: string): Promise<DashboardData>;
}

/**
 * Today's figures derived from the day's committed events in the outbox (kept for 24 h, so the
 * current UTC day is always whole): orders placed, and revenue as payments completed less refunds
 * processed, per currency.
 */
export function outboxDashboardFigures(db: Kysely<DB>): DashboardFigures {
  return {
    async today(tenantId) {
      const now = new Date();
      const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
      const { rows } = await withTenant(db, tenantId, (tx) =>
        sql<{ type: string; currency: string | null; count: number; amount: number }>`
          select type, payload->'data'->>'currency' as currency, count(*)::int as count,
                 coalesce(sum(case type
                   when 'payment.completed' then (payload->'data'->>'amount_captured')::bigint
                   when 'refund.processed' then -(payload->'data'->>'amount')::bigint
                   else 0 end), 0)::bigint as amount
          from outbox_events
          where created_at >= ${start}
            and type in ('commerce.order.created', 'payment.completed', 'refund.processed')
            and (type <> 'refund.processed' or payload->'data'->>'status' = 'processed')
          group by 1, 2`.execute(tx),
      );
      const revenue = new Map<string, number>();
      let orders = 0;
      for (const row of rows) {
        if (row.type === 'commerce.order.created') orders += row.count;
        else if (row.currency)
          revenue.set(row.currency, (revenue.get(row.currency) ?? 0) + Number(row.amount));
      }
      return {
        date: start.toISOString().slice(0, 10),
        orders,
        revenue: [...revenue]
          .map(([currency, amount]) => ({ currency, amount }))
          .sort((a, b) => a.currency.localeCompare(b.currency)),
      };
    },
  };
}

/**
 * Pushes a tenant's fresh figures to its dashboard subscribers after orders and payments. Bursts
 * are coalesced: at most one recomputation per tenant per `coalesceMs`, carrying the id of the
 * latest event it includes.
 */
export class DashboardPusher {
  private readonly scheduled = new Map<string, EventEnvelope>();

  constructor(
    private readonly hub: RealtimeHub,
    private readonly figures: DashboardFigures,
    private readonly logger: Logger,
    private readonly coalesceMs = 100,
  ) {}

  onEvent(event: EventEnvelope): void {
    if (!DASHBOARD_EVENT_TYPES.includes(event.type)) return;
    if (!this.hub.hasSubscribers(event.tenant_id, 'dashboard')) return;
    const waiting = this.scheduled.has(event.tenant_id);
    this.scheduled.set(event.tenant_id, event);
    if (waiting) return;
    setTimeout(() => void this.push(event.tenant_id), this.coalesceMs).unref();
  }

  private async push(tenantId: string): Promise<void> {
    const latest = this.scheduled.get(tenantId);
    this.scheduled.delete(tenantId);
    if (!latest) return;
    try {
      const data = await this.figures.today(tenantId);
      this.hub.broadcast(tenantId, 'dashboard', {
        type: 'event',
        channel: 'dashboard',
        id: latest.id,
        event_type: latest.type,
        data,
        occurred_at: latest.occurred_at,
      });
    } catch (error) {
      this.logger.error({ err: error, tenant_id: tenantId }, 'dashboard figures failed');
    }
  }
}
