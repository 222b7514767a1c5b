import type { Web } from '@tessera/contracts';
import type { QueryClient } from '@tanstack/react-query';
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { Link } from 'react-router';
import { useCan, useUser } from '../lib/auth';
import { formatTime, label } from '../lib/format';
import { RealtimeClient, type RealtimeEvent, type RealtimeStatus } from '../lib/realtime';

export interface Notice {
  id: string;
  text: string;
  href: string | null;
  occurred_at: string;
}

export interface LiveState {
  status: RealtimeStatus;
  notices: Notice[];
  unread: number;
  markRead: () => void;
}

const MAX_NOTICES = 50;

function str(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

/** A notifications-channel event as a notice: the server words it and names its subject. */
function noticeOf(event: RealtimeEvent): Notice | null {
  if (event.channel !== 'notifications') return null;
  const data = event.data as {
    message?: string;
    order_id?: string;
    product_id?: string;
    refund_id?: string;
    payment_id?: string;
    dispute_id?: string;
  };
  // A dispute is answered from its payment's page, which shows it; the rest from their order's.
  const href = data.dispute_id
    ? `/payments/${data.payment_id}`
    : data.order_id
      ? `/orders/${data.order_id}`
      : data.product_id
        ? `/inventory/${data.product_id}`
        : data.refund_id
          ? '/refunds'
          : null;
  return {
    id: event.id,
    text: data.message ?? label(event.event_type.split('.').join(' ')),
    href,
    occurred_at: event.occurred_at,
  };
}

/**
 * The dashboard's figures come from the analytics projection, which its own consumer updates from
 * the same events: refetch now, and again shortly, so a projection a moment behind the push still
 * shows up without a reload.
 */
const DASHBOARD_REFETCH_DELAYS_MS = [0, 1_500, 5_000];

function refreshDashboard(queryClient: QueryClient): void {
  for (const delay of DASHBOARD_REFETCH_DELAYS_MS) {
    setTimeout(() => void queryClient.invalidateQueries({ queryKey: ['dashboard'] }), delay);
  }
}

/** What to refetch when a channel's replay had a gap: everything that channel keeps fresh. */
const CHANNEL_KEYS: Record<Web.RealtimeChannel, string[]> = {
  orders: ['orders', 'order', 'payments'],
  inventory: ['inventory', 'stock'],
  dashboard: ['dashboard'],
  notifications: [],
};

/** Marks the cached data an event changes as stale: TanStack Query refetches what is on screen. */
function invalidate(queryClient: QueryClient, event: RealtimeEvent): void {
  const data = event.data;
  if (event.channel === 'dashboard' || event.channel === 'orders') refreshDashboard(queryClient);
  if (event.channel === 'notifications' && data.dispute_id) {
    void queryClient.invalidateQueries({ queryKey: ['disputes'] });
  }
  if (event.channel === 'dashboard' || event.channel === 'notifications') return;
  const keys: unknown[][] = [];
  if (event.channel === 'orders' || data.order_id) keys.push(['orders'], ['payments']);
  if (data.order_id) keys.push(['order', str(data.order_id)]);
  if (event.channel === 'inventory' || event.event_type.startsWith('inventory.')) keys.push(['inventory']);
  if (data.product_id) keys.push(['stock', str(data.product_id)]);
  for (const queryKey of keys) void queryClient.invalidateQueries({ queryKey });
}

/** The tab's live connection: keeps queries fresh and collects notices. */
export function useLiveUpdates(queryClient: QueryClient): LiveState {
  const can = useCan();
  const user = useUser();
  const [status, setStatus] = useState<RealtimeStatus>('connecting');
  const [notices, setNotices] = useState<Notice[]>([]);
  const [readUpTo, setReadUpTo] = useState<string | null>(null);
  const channels = useMemo(() => {
    const list: Web.RealtimeChannel[] = ['notifications'];
    if (can('read:orders')) list.push('orders');
    if (can('read:inventory')) list.push('inventory');
    if (can('read:analytics')) list.push('dashboard');
    return list;
  }, [can]);
  const channelKey = channels.join(',');

  useEffect(() => {
    const client = new RealtimeClient(channelKey.split(',') as Web.RealtimeChannel[], {
      onEvent: (event) => {
        invalidate(queryClient, event);
        const notice = noticeOf(event);
        if (notice) {
          setNotices((list) =>
            list.some((existing) => existing.id === notice.id)
              ? list
              : [notice, ...list].slice(0, MAX_NOTICES),
          );
        }
      },
      onGap: (channel) => {
        for (const key of CHANNEL_KEYS[channel]) void queryClient.invalidateQueries({ queryKey: [key] });
      },
      onStatus: setStatus,
    });
    client.start();
    return () => client.stop();
  }, [channelKey, queryClient, user.id, user.tenant_id]);

  const unread = readUpTo === null ? notices.length : notices.findIndex((notice) => notice.id === readUpTo);
  return {
    status,
    notices,
    unread: unread < 0 ? notices.length : unread,
    markRead: () => setReadUpTo(notices[0]?.id ?? null),
  };
}

/** The bell with its unread count, opening the list of recent notices. */
export function Notifications({ live }: { live: LiveState }) {
  const [open, setOpen] = useState(false);
  const panelId = useId();
  const wrapper = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!open) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') {
        setOpen(false);
        button.current?.focus();
      }
    };
    const onClick = (event: MouseEvent) => {
      if (!wrapper.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('mousedown', onClick);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('mousedown', onClick);
    };
  }, [open]);

  const toggle = () => {
    if (!open) live.markRead();
    setOpen(!open);
  };

  return (
    <div className="notifications" ref={wrapper}>
      <button
        ref={button}
        type="button"
        className="icon-button"
        aria-label={`Notifications, ${live.unread} unread`}
        aria-expanded={open}
        aria-controls={panelId}
        onClick={toggle}
      >
        <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
          <path
            fill="currentColor"
            d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"
          />
        </svg>
        {live.unread > 0 && (
          <span className="count" aria-hidden="true">
            {live.unread > 99 ? '99+' : live.unread}
          </span>
        )}
      </button>
      {open && (
        <section id={panelId} className="notifications-panel" aria-label="Notifications">
          <h2>Notifications</h2>
          {live.notices.length === 0 ? (
            <p className="muted">
              Nothing new yet. Orders, payments and low stock show up here as they happen.
            </p>
          ) : (
            <ul>
              {live.notices.map((notice) => (
                <li key={notice.id}>
                  {notice.href ? (
                    <Link to={notice.href} onClick={() => setOpen(false)}>
                      {notice.text}
                    </Link>
                  ) : (
                    notice.text
                  )}
                  <time dateTime={notice.occurred_at} className="muted">
                    {formatTime(notice.occurred_at)}
                  </time>
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
    </div>
  );
}
