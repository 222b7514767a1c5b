import type { EventActor, Web } from '@tessera/contracts';
import { keepPreviousData, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useCallback } from 'react';
import { useSearchParams } from 'react-router';
import { api } from './api';
import { useCan, useUser } from './auth';

type Query = Record<string, string | number | boolean | null | undefined>;

/**
 * A list page's status filter, kept in the address (`?status=`): one of `statuses`, or `all`.
 * Anything else in the address, or nothing, shows `fallback`.
 */
export function useStatusParam<S extends string>(
  statuses: readonly S[],
  fallback: S,
): [S | 'all', (status: string) => void] {
  const [params, setParams] = useSearchParams();
  const shown = params.get('status') ?? fallback;
  const status =
    shown === 'all' || (statuses as readonly string[]).includes(shown) ? (shown as S | 'all') : fallback;
  return [status, (next) => setParams({ status: next })];
}

/** A keyset-paginated list (`{data, next_cursor}`), one page after another. */
export function usePagedList<T>(key: unknown[], path: string, query: Query = {}) {
  const result = useInfiniteQuery({
    queryKey: [...key, query],
    queryFn: ({ pageParam, signal }) =>
      api<Web.Page<T>>(path, { query: { limit: 50, ...query, cursor: pageParam }, signal }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });
  return { ...result, items: result.data?.pages.flatMap((page) => page.data) ?? [] };
}

/** The most ids the API's list filters (`id`, `product_id`) take in one request. */
const IDS_PER_REQUEST = 200;

/** Every item of a list filtered by ids (`param` repeated), however many: a request per 200 ids. */
export async function listByIds<T>(
  path: string,
  param: string,
  ids: readonly string[],
  signal?: AbortSignal,
): Promise<T[]> {
  const chunks = Array.from({ length: Math.ceil(ids.length / IDS_PER_REQUEST) }, (_, i) =>
    ids.slice(i * IDS_PER_REQUEST, (i + 1) * IDS_PER_REQUEST),
  );
  const pages = await Promise.all(
    chunks.map((chunk) =>
      api<Web.Page<T>>(path, { query: { [param]: chunk, limit: IDS_PER_REQUEST }, signal }),
    ),
  );
  return pages.flatMap((page) => page.data);
}

/**
 * The items of a list filtered by these ids, keyed by `keyOf`; while other ids load, the last
 * answer stays on screen.
 */
function useListedByIds<T>(
  list: { key: string; path: string; param: string; keyOf: (item: T) => string },
  ids: readonly string[],
  options: { retry?: boolean } = {},
) {
  return useQuery({
    queryKey: [list.key, 'by-id', ids],
    enabled: ids.length > 0,
    queryFn: ({ signal }) => listByIds<T>(list.path, list.param, ids, signal),
    select: (items) => new Map(items.map((item) => [list.keyOf(item), item])),
    placeholderData: keepPreviousData,
    ...options,
  });
}

/** The products of these ids, by id: the names beside a page of stock levels. */
export function useProductsById(ids: readonly string[]) {
  return useListedByIds<Web.Product>(
    { key: 'products', path: '/commerce/products', param: 'id', keyOf: (product) => product.id },
    ids,
  );
}

/**
 * The stock levels of these products, by product id: the stock beside a page of products. Not
 * retried: the point of sale works without it.
 */
export function useStockByProductId(ids: readonly string[]) {
  return useListedByIds<Web.StockLevel>(
    {
      key: 'inventory',
      path: '/commerce/inventory',
      param: 'product_id',
      keyOf: (level) => level.product_id,
    },
    ids,
    { retry: false },
  );
}

/**
 * Who made a change, as a history or a ledger names it: "automatic" for the platform, "you", a
 * member's name where the team may be listed (admins), and "a team member" otherwise.
 */
export function useActorName(): (actor: EventActor) => string {
  const me = useUser();
  const can = useCan();
  const team = useQuery({
    queryKey: ['users', 'names'],
    queryFn: ({ signal }) =>
      api<Web.Page<Web.TenantUser>>('/tenants/current/users', { query: { limit: 200 }, signal }),
    select: (page) => new Map(page.data.map((user) => [user.id, user.name])),
    enabled: can('manage:users'),
    staleTime: 5 * 60_000,
  });
  const names = team.data;
  return useCallback(
    (actor: EventActor) => {
      if (actor.type === 'system') return 'automatic';
      if (actor.id === me.id) return 'you';
      return (actor.id && names?.get(actor.id)) || 'a team member';
    },
    [me.id, names],
  );
}

export const CURRENCIES = [
  'USD',
  'EUR',
  'GBP',
  'CAD',
  'AUD',
  'JPY',
  'CHF',
  'SEK',
  'NOK',
  'DKK',
  'KWD',
  'BHD',
];
