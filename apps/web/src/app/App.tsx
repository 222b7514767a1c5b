import type { Permission } from '@tessera/contracts';
import { lazy, Suspense, type ReactNode } from 'react';
import { Navigate, Route, Routes, useLocation } from 'react-router';
import { Loading } from '../components/ui';
import { useCan, useSession } from '../lib/auth';
import { Layout } from './Layout';
import { PublicLayout } from './PublicLayout';

const Login = lazy(() => import('../pages/auth/Login'));
const Register = lazy(() => import('../pages/auth/Register'));
const ForgotPassword = lazy(() => import('../pages/auth/ForgotPassword'));
const ResetPassword = lazy(() => import('../pages/auth/ResetPassword'));
const VerifyEmail = lazy(() => import('../pages/auth/VerifyEmail'));
const AcceptInvitation = lazy(() => import('../pages/auth/AcceptInvitation'));
const Dashboard = lazy(() => import('../pages/Dashboard'));
const Products = lazy(() => import('../pages/Products'));
const ProductEdit = lazy(() => import('../pages/ProductEdit'));
const Inventory = lazy(() => import('../pages/Inventory'));
const InventoryItem = lazy(() => import('../pages/InventoryItem'));
const Orders = lazy(() => import('../pages/Orders'));
const NewOrder = lazy(() => import('../pages/NewOrder'));
const OrderDetail = lazy(() => import('../pages/OrderDetail'));
const Payments = lazy(() => import('../pages/Payments'));
const PaymentDetail = lazy(() => import('../pages/PaymentDetail'));
const Refunds = lazy(() => import('../pages/Refunds'));
const Disputes = lazy(() => import('../pages/Disputes'));
const Reconciliation = lazy(() => import('../pages/Reconciliation'));
const Users = lazy(() => import('../pages/Users'));
const Settings = lazy(() => import('../pages/Settings'));
const Account = lazy(() => import('../pages/Account'));
const NotFound = lazy(() => import('../pages/NotFound'));
const Forbidden = lazy(() => import('../pages/Forbidden'));

/** Signed-in pages: a signed-out visitor goes to sign in, and comes back here afterwards. */
function RequireSession({ children }: { children: ReactNode }) {
  const { status } = useSession();
  const location = useLocation();
  if (status === 'loading') return <Loading label="Opening your session…" />;
  if (status === 'signed_out') {
    const next = location.pathname + location.search;
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return children;
}

/** A page that needs a permission shows "no access" to those without it, even by deep link. */
function Allow({ permission, children }: { permission: Permission; children: ReactNode }) {
  const can = useCan();
  return can(permission) ? children : <Forbidden />;
}

/** The signed-in home: the dashboard for those who may read analytics, else the orders. */
function Home() {
  const can = useCan();
  if (can('read:analytics')) return <Dashboard />;
  if (can('read:orders')) return <Navigate to="/orders" replace />;
  return <Navigate to="/products" replace />;
}

export function App() {
  return (
    <Suspense fallback={<Loading />}>
      <Routes>
        <Route element={<PublicLayout />}>
          <Route path="login" element={<Login />} />
          <Route path="register" element={<Register />} />
          <Route path="forgot-password" element={<ForgotPassword />} />
          <Route path="reset-password" element={<ResetPassword />} />
          <Route path="verify-email" element={<VerifyEmail />} />
          <Route path="accept-invitation" element={<AcceptInvitation />} />
        </Route>
        <Route
          element={
            <RequireSession>
              <Layout />
            </RequireSession>
          }
        >
          <Route index element={<Home />} />
          <Route
            path="products"
            element={
              <Allow permission="read:products">
                <Products />
              </Allow>
            }
          />
          <Route
            path="products/new"
            element={
              <Allow permission="write:products">
                <ProductEdit />
              </Allow>
            }
          />
          <Route
            path="products/:id"
            element={
              <Allow permission="read:products">
                <ProductEdit />
              </Allow>
            }
          />
          <Route
            path="inventory"
            element={
              <Allow permission="read:inventory">
                <Inventory />
              </Allow>
            }
          />
          <Route
            path="inventory/:productId"
            element={
              <Allow permission="read:inventory">
                <InventoryItem />
              </Allow>
            }
          />
          <Route
            path="orders"
            element={
              <Allow permission="read:orders">
                <Orders />
              </Allow>
            }
          />
          <Route
            path="orders/new"
            element={
              <Allow permission="write:orders">
                <NewOrder />
              </Allow>
            }
          />
          <Route
            path="orders/:id"
            element={
              <Allow permission="read:orders">
                <OrderDetail />
              </Allow>
            }
          />
          <Route
            path="payments"
            element={
              <Allow permission="read:payments">
                <Payments />
              </Allow>
            }
          />
          <Route
            path="payments/:id"
            element={
              <Allow permission="read:payments">
                <PaymentDetail />
              </Allow>
            }
          />
          <Route
            path="reconciliation"
            element={
              <Allow permission="read:payments">
                <Reconciliation />
              </Allow>
            }
          />
          <Route
            path="disputes"
            element={
              <Allow permission="read:payments">
                <Disputes />
              </Allow>
            }
          />
          <Route
            path="refunds"
            element={
              <Allow permission="write:refunds">
                <Refunds />
              </Allow>
            }
          />
          <Route
            path="users"
            element={
              <Allow permission="manage:users">
                <Users />
              </Allow>
            }
          />
          <Route
            path="settings"
            element={
              <Allow permission="manage:tenant">
                <Settings />
              </Allow>
            }
          />
          <Route path="account" element={<Account />} />
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </Suspense>
  );
}
