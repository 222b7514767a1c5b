import type { Permission } from '@tessera/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Suspense, useEffect, useRef, useState } from 'react';
import { NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { Loading } from '../components/ui';
import { logout, myBusinesses, reloadMe, switchBusiness, useCan, useUser } from '../lib/auth';
import { setTimeZone } from '../lib/format';
import { focusTitleOnNextPage, keepFocusWithin } from './focus';
import { Notifications, useLiveUpdates } from './live';
import { VerifyBanner } from './VerifyBanner';

const NAV: { to: string; label: string; permission?: Permission; end?: boolean }[] = [
  { to: '/', label: 'Dashboard', permission: 'read:analytics', end: true },
  { to: '/orders', label: 'Orders', permission: 'read:orders' },
  { to: '/products', label: 'Products', permission: 'read:products' },
  { to: '/inventory', label: 'Inventory', permission: 'read:inventory' },
  { to: '/payments', label: 'Payments', permission: 'read:payments' },
  { to: '/reconciliation', label: 'Reconciliation', permission: 'read:payments' },
  { to: '/refunds', label: 'Refund approvals', permission: 'write:refunds' },
  { to: '/disputes', label: 'Disputes', permission: 'read:payments' },
  { to: '/users', label: 'Users', permission: 'manage:users' },
  { to: '/settings', label: 'Settings', permission: 'manage:tenant' },
  { to: '/account', label: 'Account' },
];

/** The signed-in frame: header, navigation (a menu on phones), live updates, the page. */
export function Layout() {
  const user = useUser();
  const can = useCan();
  const { pathname } = useLocation();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  // The menu is open on the page where it was opened: navigating closes it (and so does a
  // click on any of its links, the current page's too, where the address does not change).
  const [menuOpenOn, setMenuOpenOn] = useState<string | null>(null);
  const menuOpen = menuOpenOn === pathname;
  const setMenuOpen = (open: boolean) => setMenuOpenOn(open ? pathname : null);
  const menuButton = useRef<HTMLButtonElement>(null);
  const sidebar = useRef<HTMLElement>(null);
  const main = useRef<HTMLElement>(null);
  const live = useLiveUpdates(queryClient);

  // Every user may list their own businesses; with more than one, the header switches between them.
  const businesses = useQuery({
    queryKey: ['businesses', user.session_id],
    queryFn: async () => {
      const found = await myBusinesses(user.email);
      // Every date is shown in the current business's time zone, whoever the user is.
      setTimeZone(found.find((business) => business.current)?.time_zone);
      return found;
    },
    staleTime: 5 * 60_000,
  });
  const currentBusiness = businesses.data?.find((business) => business.current);
  const switchTo = useMutation({
    mutationFn: switchBusiness,
    onSuccess: () => {
      // Nothing of the other business may stay on screen or in the cache.
      queryClient.clear();
      void navigate('/', { replace: true });
    },
  });

  // Moving focus on navigation: the page changed under the user.
  useEffect(() => focusTitleOnNextPage, [pathname]);

  // A user who verified their address in the mailed link's tab sees the banner go here too.
  useEffect(() => {
    if (user.email_verified) return;
    const onFocus = () => void reloadMe().catch(() => undefined);
    window.addEventListener('focus', onFocus);
    return () => window.removeEventListener('focus', onFocus);
  }, [user.email_verified]);

  // A control of the page that goes away (replaced by what came of it) leaves focus in the page.
  useEffect(() => {
    const page = main.current;
    if (!page) return;
    return keepFocusWithin(page, () => page.querySelector('h1'));
  }, []);

  useEffect(() => {
    if (!menuOpen) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') {
        setMenuOpenOn(null);
        menuButton.current?.focus();
      }
      // The open menu covers the page: Tab goes round its button and its links, not behind it.
      if (event.key === 'Tab' && menuButton.current?.getClientRects().length) {
        const controls = [
          menuButton.current,
          ...(sidebar.current?.querySelectorAll<HTMLElement>('a[href], button') ?? []),
        ].filter((control) => control.getClientRects().length > 0);
        const at = controls.indexOf(document.activeElement as HTMLElement);
        const next = at === -1 ? (event.shiftKey ? -1 : 0) : at + (event.shiftKey ? -1 : 1);
        event.preventDefault();
        controls.at(next % controls.length)?.focus();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [menuOpen]);

  const signOut = async () => {
    await logout().catch(() => undefined);
    void navigate('/login', { replace: true });
  };

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <button
          ref={menuButton}
          type="button"
          className="icon-button menu-button"
          aria-label={menuOpen ? 'Close menu' : 'Open menu'}
          aria-expanded={menuOpen}
          aria-controls="sidebar"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          <span aria-hidden="true">{menuOpen ? '×' : '☰'}</span>
        </button>
        <span className="brand">Tessera</span>
        {businesses.data && businesses.data.length > 1 ? (
          <span className="tenant-name tenant-switch">
            <label className="visually-hidden" htmlFor="business-switch">
              Business
            </label>
            <select
              id="business-switch"
              className="business-switch"
              value={user.tenant_id}
              disabled={switchTo.isPending}
              onChange={(event) => switchTo.mutate(event.target.value)}
            >
              {businesses.data.map((business) => (
                <option key={business.id} value={business.id}>
                  {business.name}
                </option>
              ))}
            </select>
            {switchTo.isError && (
              <span role="alert" className="field-error">
                Could not switch business; try again.
              </span>
            )}
          </span>
        ) : (
          <span className="tenant-name">{currentBusiness?.name}</span>
        )}
        <span className={`live-status live-${live.status}`} role="status" aria-live="polite">
          <span className="visually-hidden">Live updates: </span>
          {live.status === 'live' ? 'Live' : live.status === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
        </span>
        <Notifications live={live} />
        <button type="button" className="button button-ghost sign-out" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <div className="body">
        <nav ref={sidebar} id="sidebar" className={`sidebar${menuOpen ? ' open' : ''}`} aria-label="Main">
          <p className="signed-in-as">
            <span className="visually-hidden">Signed in as </span>
            {user.name}
            <span className="muted">{user.email}</span>
          </p>
          <ul>
            {NAV.filter((item) => !item.permission || can(item.permission)).map((item) => (
              <li key={item.to}>
                <NavLink
                  to={item.to}
                  end={item.end}
                  onClick={() => {
                    setMenuOpenOn(null);
                    // The current page's: no new title takes focus, so the menu button does, as on Escape.
                    if (item.to === pathname) menuButton.current?.focus();
                  }}
                >
                  {item.label}
                </NavLink>
              </li>
            ))}
          </ul>
          <button
            type="button"
            className="button button-ghost sidebar-sign-out"
            onClick={() => void signOut()}
          >
            Sign out
          </button>
        </nav>
        <main ref={main} id="main" className="main">
          {!user.email_verified && <VerifyBanner />}
          <Suspense fallback={<Loading />}>
            <Outlet />
          </Suspense>
        </main>
      </div>
    </div>
  );
}
