import { AjvCompiler } from '@fastify/ajv-compiler';
import { isUuid, ORDER_STATUSES, type OrderStatus, type Permission } from '@tessera/contracts';
import DataLoader from 'dataloader';
import type { FastifyRequest } from 'fastify';
import type { IResolvers, MercuriusContext } from 'mercurius';
import mercurius from 'mercurius';
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables';
import { tenantReader, type Tx } from '../../platform/db/tenant';
import { AppError } from '../../platform/errors';
import { principalOf, type Principal } from '../../platform/http/auth-guard';
import { Timestamp } from '../../platform/http/schemas';
import type { AnalyticsService } from '../analytics';
import type { AuthService } from '../auth';
import type { CatalogService, ProductSummary } from '../catalog';
import type { InventoryService } from '../inventory';
import type { Order, OrdersService, StatusChange } from '../orders';
import type { Payment, PaymentsService, Refund } from '../payments';

export interface GraphqlServices {
  auth: AuthService;
  catalog: CatalogService;
  inventory: InventoryService;
  orders: OrdersService;
  payments: PaymentsService;
  analytics: AnalyticsService;
}

/** Per request: who is asking, and loaders that batch and cache lookups for this request only. */
export interface GraphqlContext {
  principal: Principal;
  products: DataLoader<string, ProductSummary | null>;
  payments: DataLoader<string, Payment[]>;
  refunds: DataLoader<string, Refund[]>;
  history: DataLoader<string, StatusChange[]>;
}

declare module 'mercurius' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- merges GraphqlContext into Mercurius' context
  interface MercuriusContext extends GraphqlContext {}
}

const { ErrorWithProps } = mercurius;

/** The REST rules' errors, as GraphQL errors with the same stable `code`. */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppError) {
      throw new ErrorWithProps(error.message, {
        code: error.code,
        status: error.status,
        ...error.extensions,
      });
    }
    throw error;
  }
}

function need(principal: Principal, permission: Permission): void {
  if (!principal.permissions.includes(permission))
    throw new AppError('forbidden', `This needs the ${permission} permission`);
}

function invalid(path: string, message: string): AppError {
  return new AppError('validation_failed', `${path} ${message}`, { errors: [{ path, message }] });
}

/** The same bounds as the REST query schemas. */
function pageArgs(args: { limit?: number | null; cursor?: string | null }) {
  const limit = args.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 200)
    throw invalid('limit', 'must be between 1 and 200');
  if (args.cursor != null && args.cursor.length > 200) throw invalid('cursor', 'is too long');
  return { limit, ...(args.cursor != null ? { cursor: args.cursor } : {}) };
}

/** REST's check of a time (its `date-time`, same compiler): a real date, with an offset. */
const isTimestamp = AjvCompiler()({}, { customOptions: {} })({
  schema: Timestamp,
  method: 'POST',
  url: '/graphql',
  httpPart: 'body',
});

function timestampArg(path: string, value: string | null | undefined): string | undefined {
  if (value == null) return undefined;
  if (!isTimestamp(value)) throw invalid(path, 'must be an ISO 8601 date-time with an offset');
  return value;
}

export function createLoaders(db: Kysely<DB>, services: GraphqlServices, principal: Principal) {
  const tenant = tenantReader(db, principal.tenantId);
  return {
    products: new DataLoader<string, ProductSummary | null>(async (ids) => {
      const found = await tenant((tx) => services.catalog.findProductsByIds(tx, [...ids]));
      const byId = new Map(found.map((product) => [product.id, product]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    // A page of orders reads its payments in one query, those payments' refunds in another, and
    // its histories in a third.
    payments: new DataLoader<string, Payment[]>(async (orderIds) => {
      const byOrder = await services.payments.paymentsByOrder(principal.tenantId, orderIds);
      return orderIds.map((id) => byOrder.get(id) ?? []);
    }),
    refunds: new DataLoader<string, Refund[]>(async (paymentIds) => {
      const byPayment = await services.payments.refundsByPayment(principal.tenantId, paymentIds);
      return paymentIds.map((id) => byPayment.get(id) ?? []);
    }),
    history: new DataLoader<string, StatusChange[]>(async (orderIds) => {
      const byOrder = await tenant((tx) => services.orders.histories(tx, orderIds));
      return orderIds.map((id) => byOrder.get(id) ?? []);
    }),
  };
}

export function contextOf(db: Kysely<DB>, services: GraphqlServices) {
  return (request: FastifyRequest): GraphqlContext => {
    const principal = principalOf(request);
    return { principal, ...createLoaders(db, services, principal) };
  };
}

/**
 * The resolvers: each checks the permission its REST twin's route declares and calls the same
 * service inside a read-only transaction of the caller's tenant (from the token, never an
 * argument), as the REST reads do: the schema has queries only.
 */
export function resolvers(db: Kysely<DB>, services: GraphqlServices): IResolvers<unknown, MercuriusContext> {
  const tenant = <T>(context: MercuriusContext, work: (tx: Tx) => Promise<T>) =>
    tenantReader(db, context.principal.tenantId)(work);

  return {
    Query: {
      me: (_root, _args, context) => guarded(() => services.auth.me(context.principal)),

      products: (
        _root,
        args: { q?: string | null; active?: boolean | null; limit?: number; cursor?: string },
        context,
      ) =>
        guarded(() => {
          need(context.principal, 'read:products');
          if (args.q != null && (args.q.length < 1 || args.q.length > 200))
            throw invalid('q', 'must be 1 to 200 characters');
          return tenant(context, (tx) =>
            services.catalog.list(tx, {
              ...pageArgs(args),
              ...(args.q != null ? { q: args.q } : {}),
              ...(args.active != null ? { active: args.active } : {}),
            }),
          );
        }),

      product: (_root, args: { id: string }, context) =>
        guarded(async () => {
          need(context.principal, 'read:products');
          if (!isUuid(args.id)) return null;
          return tenant(context, (tx) => services.catalog.get(tx, args.id)).catch((error: unknown) => {
            if (error instanceof AppError && error.code === 'not_found') return null;
            throw error;
          });
        }),

      inventory: (_root, args: { low_stock?: boolean | null; limit?: number; cursor?: string }, context) =>
        guarded(() => {
          need(context.principal, 'read:inventory');
          return tenant(context, (tx) =>
            services.inventory.list(tx, {
              ...pageArgs(args),
              ...(args.low_stock != null ? { low_stock: args.low_stock } : {}),
            }),
          );
        }),

      orders: (_root, args: { status?: string | null; limit?: number; cursor?: string }, context) =>
        guarded(() => {
          need(context.principal, 'read:orders');
          if (args.status != null && !(ORDER_STATUSES as readonly string[]).includes(args.status))
            throw invalid('status', `must be one of ${ORDER_STATUSES.join(', ')}`);
          return tenant(context, (tx) =>
            services.orders.list(tx, {
              ...pageArgs(args),
              ...(args.status != null ? { status: args.status as OrderStatus } : {}),
            }),
          );
        }),

      order: (_root, args: { id: string }, context) =>
        guarded(async () => {
          need(context.principal, 'read:orders');
          if (!isUuid(args.id)) return null;
          return tenant(context, (tx) => services.orders.get(tx, args.id)).catch((error: unknown) => {
            if (error instanceof AppError && error.code === 'not_found') return null;
            throw error;
          });
        }),

      dashboard: (
        _root,
        args: {
          from?: string | null;
          to?: string | null;
          interval?: string | null;
          currency?: string | null;
        },
        context,
      ) =>
        guarded(() => {
          need(context.principal, 'read:analytics');
          if (args.interval != null && args.interval !== 'hour' && args.interval !== 'day')
            throw invalid('interval', 'must be hour or day');
          if (args.currency != null && !/^[A-Z]{3}$/.test(args.currency))
            throw invalid('currency', 'must be an ISO 4217 code');
          const from = timestampArg('from', args.from);
          const to = timestampArg('to', args.to);
          return services.analytics.dashboard(tenantReader(db, context.principal.tenantId), {
            ...(from ? { from } : {}),
            ...(to ? { to } : {}),
            interval: args.interval ?? 'day',
            ...(args.currency != null ? { currency: args.currency } : {}),
          });
        }),

      recommendations: (_root, args: { product_id?: string | null; limit?: number | null }, context) =>
        guarded(() => {
          need(context.principal, 'read:products');
          if (args.product_id != null && !isUuid(args.product_id))
            throw invalid('product_id', 'must be a UUID');
          const limit = args.limit ?? 10;
          if (!Number.isInteger(limit) || limit < 1 || limit > 50)
            throw invalid('limit', 'must be between 1 and 50');
          return tenant(context, (tx) =>
            services.analytics.recommendations(tx, args.product_id ?? undefined, limit),
          );
        }),
    },

    Order: {
      payments: (order: unknown, _args, context) =>
        guarded(() => {
          need(context.principal, 'read:payments');
          return context.payments.load((order as Order).id);
        }),
      history: (order: unknown, _args, context) => guarded(() => context.history.load((order as Order).id)),
    },

    OrderLine: {
      product: (line: unknown, _args, context) =>
        context.products.load((line as Order['lines'][number]).product_id),
    },

    Payment: {
      refunds: (payment: unknown, _args, context) =>
        guarded(() => context.refunds.load((payment as Payment).id)),
    },
  };
}
