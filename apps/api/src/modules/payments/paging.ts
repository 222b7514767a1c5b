import { encodeCursor } from '../../platform/http/schemas';

/** A list's page size when the query names none. */
export const PAGE = 50;

/** A page of rows read with one more than `limit`: whether there is another follows from it. */
export function page<T extends { id: string }, D>(rows: T[], limit: number, map: (row: T) => D) {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { data: items.map(map), next_cursor: more ? encodeCursor(items.at(-1)!.id) : null };
}
