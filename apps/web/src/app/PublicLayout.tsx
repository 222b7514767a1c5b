import { useEffect } from 'react';
import { Outlet, useLocation } from 'react-router';
import { focusTitleOnNextPage } from './focus';

/** The frame of the pages reached signed out: sign in, register, and the mailed links. */
export function PublicLayout() {
  const { pathname } = useLocation();
  useEffect(() => focusTitleOnNextPage, [pathname]);
  return (
    <div className="public">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="public-header">
        <span className="brand">Tessera</span>
      </header>
      <main id="main" className="public-main">
        <div className="card public-card">
          <Outlet />
        </div>
      </main>
    </div>
  );
}
