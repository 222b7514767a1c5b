import { UUID_PATTERN } from '@tessera/contracts';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { AppError } from '../errors';

/** Building blocks shared by the route schemas. */
export const Uuid = Type.String({ pattern: UUID_PATTERN, description: 'UUID' });
export const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601 UTC' });
export const IdParams = Type.Object({ id: Uuid });
export type IdParams = Static<typeof IdParams>;

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    request_id: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details' },
);

export const ProblemRef = Type.Ref('Problem');

/** Problem responses for the given statuses, for a route's `response` map (documented in OpenAPI). */
export function problems(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((status) => [status, ProblemRef]));
}

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});

/** A period, [from, to): summaries and exports. */
export const PeriodQuery = Type.Object({ from: Timestamp, to: Timestamp });

export function Page<T extends TSchema>(item: T) {
  return Type.Object({ data: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]) });
}

/** Keyset cursors: opaque to clients, the last row's sort key inside. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * Reads a cursor this API issued. A cursor that does not decode to the expected shape (forged,
 * truncated, from another list), or whose value `accepts` refuses (what a schema cannot say), is
 * the client's error: 400 validation_failed on `cursor`.
 */
export function decodeCursor<T extends TSchema>(
  cursor: string | undefined,
  shape: T,
  accepts: (value: Static<T>) => boolean = () => true,
): Static<T> | null {
  if (!cursor) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!Value.Check(shape, value) || !accepts(value)) {
    throw new AppError('validation_failed', 'The cursor is not one this list issued', {
      errors: [{ path: 'cursor', message: 'is not valid' }],
    });
  }
  return value;
}
