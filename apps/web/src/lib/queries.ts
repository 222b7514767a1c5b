import type { EventActor, Web } from '@tessera/contracts';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useCallback } from 'react';
import { api } from './api';
import { useCan, useUser } from './auth';

type Query = Record<string, string | number | boolean | null | undefined>;

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

/** Every active product (up to 200): for names beside stock levels and the point of sale. */
export function useProductIndex() {
  return useQuery({
    queryKey: ['products', 'index'],
    queryFn: ({ signal }) =>
      api<Web.Page<Web.Product>>('/commerce/products', { query: { limit: 200 }, signal }),
    select: (page) => new Map(page.data.map((product) => [product.id, product])),
  });
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
