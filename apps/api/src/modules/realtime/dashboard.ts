import type { DashboardData, EventEnvelope } from '@tessera/contracts';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../../platform/db/tables';
import { withTenantRead, type Tx } from '../../platform/db/tenant';
import { DASHBOARD_EVENT_TYPES } from './channels';
import type { RealtimeHub } from './hub';

/** Today's figures of the tenant of the transaction (the analytics module's rollups). */
export type TodayFigures = (tx: Tx) => Promise<DashboardData>;

export interface DashboardPusherOptions {
  /** Events within this window are coalesced into one push. */
  coalesceMs?: number;
  /**
   * The figures are read again this long after a push, and pushed again if they changed: the
   * rollups are written by the analytics consumer, which may apply an event after this process
   * has seen it.
   */
  settleMs?: number;
}

/**
 * Pushes a tenant's fresh figures to its dashboard subscribers after orders and payments. Bursts
 * are coalesced (one read per tenant per window), and a push whose figures did not change is not
 * sent again.
 */
export class DashboardPusher {
  private readonly latest = new Map<string, EventEnvelope>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly pushed = new Map<string, string>();
  private readonly coalesceMs: number;
  private readonly settleMs: number;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly hub: RealtimeHub,
    private readonly figures: TodayFigures,
    private readonly logger: Logger,
    options: DashboardPusherOptions = {},
  ) {
    this.coalesceMs = options.coalesceMs ?? 50;
    this.settleMs = options.settleMs ?? 1000;
  }

  onEvent(event: EventEnvelope): void {
    if (!DASHBOARD_EVENT_TYPES.includes(event.type)) return;
    if (!this.hub.hasSubscribers(event.tenant_id, 'dashboard')) return;
    this.latest.set(event.tenant_id, event);
    this.schedule(event.tenant_id, this.coalesceMs, true);
  }

  stop(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(tenantId: string, delayMs: number, settle: boolean): void {
    if (this.timers.has(tenantId)) return;
    const timer = setTimeout(() => {
      this.timers.delete(tenantId);
      void this.push(tenantId).then(() => {
        if (settle) this.schedule(tenantId, this.settleMs, false);
      });
    }, delayMs);
    timer.unref();
    this.timers.set(tenantId, timer);
  }

  private async push(tenantId: string): Promise<void> {
    const latest = this.latest.get(tenantId);
    if (!latest) return;
    if (!this.hub.hasSubscribers(tenantId, 'dashboard')) {
      this.latest.delete(tenantId);
      this.pushed.delete(tenantId);
      return;
    }
    try {
      const data = await withTenantRead(this.db, tenantId, (tx) => this.figures(tx));
      const text = JSON.stringify(data);
      if (this.pushed.get(tenantId) === text) return;
      this.pushed.set(tenantId, text);
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
