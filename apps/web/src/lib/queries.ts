import type { Web } from '@tessera/contracts';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { api } from './api';

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
