import type { FieldError } from '@tessera/contracts';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors';

const UNSTORABLE = 'contains a NUL character or a lone UTF-16 surrogate, which text cannot hold';
// With the u flag, a surrogate pair is one code point: \p{Cs} matches only a lone surrogate.
export const UNSTORABLE_CHARACTER = /[\0\p{Cs}]/u;

/** Where in a parsed JSON value a string (or key) holds text PostgreSQL cannot store, if anywhere. */
export function unstorablePath(value: unknown, path: string[] = []): string[] | null {
  if (typeof value === 'string') return UNSTORABLE_CHARACTER.test(value) ? path : null;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = unstorablePath(item, [...path, String(index)]);
      if (found) return found;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = unstorablePath(key, [...path, key]) ?? unstorablePath(item, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}

function unstorableText(field: string): AppError {
  const errors: FieldError[] = [{ path: field, message: UNSTORABLE }];
  return new AppError('validation_failed', `The ${field} ${UNSTORABLE}`, { errors });
}

/**
 * JSON bodies as Fastify parses them, with two differences. An empty body is no body: clients
 * that always send `Content-Type: application/json` can still log out. And text PostgreSQL cannot
 * store (a NUL, a lone surrogate: JSON can only carry them as \u escapes) is refused as a
 * validation error, where the database would refuse it later as an internal one. Query strings
 * are checked likewise, for an encoded NUL.
 */
export function registerJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text === '') {
      done(null, undefined);
      return;
    }
    void parseJson(request, text, (error, value) => {
      if (error) return done(error);
      const path = text.includes('\\u') ? unstorablePath(value) : null;
      if (path) return done(unstorableText(path.join('.') || 'body'));
      done(null, value);
    });
  });
  // A callback hook: it runs on every request, and an async one costs a promise each time.
  app.addHook('preValidation', (request, _reply, done) => {
    done(request.url.includes('%00') ? unstorableText('url') : undefined);
  });
}
