import type { FieldError } from '@tessera/contracts';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors';

const UNSTORABLE = 'contains a NUL character or a lone UTF-16 surrogate, which text cannot hold';
// With the u flag, a surrogate pair is one code point: \p{Cs} matches only a lone surrogate.
export const UNSTORABLE_CHARACTER = /[\0\p{Cs}]/u;

/** A value met while walking parsed JSON: its key in its parent, and the parent's step. */
interface Step {
  value: unknown;
  key: string | null;
  parent: Step | null;
}

function pathOf(step: Step): string[] {
  const path: string[] = [];
  for (let at: Step | null = step; at?.key != null; at = at.parent) path.push(at.key);
  return path.reverse();
}

/**
 * Where in a parsed JSON value a string (or key) holds text PostgreSQL cannot store, if anywhere.
 * A walk with a stack of its own and the path built only when found: a body nested 50,000 deep is
 * walked in linear time, where recursion copying the path at every level overflowed the stack.
 */
export function unstorablePath(value: unknown): string[] | null {
  const stack: Step[] = [{ value, key: null, parent: null }];
  for (let step = stack.pop(); step; step = stack.pop()) {
    const current = step.value;
    if (typeof current === 'string') {
      if (UNSTORABLE_CHARACTER.test(current)) return pathOf(step);
    } else if (Array.isArray(current)) {
      // Pushed last first, so that the first unstorable text in document order is the one named.
      for (let index = current.length - 1; index >= 0; index--)
        stack.push({ value: current[index], key: String(index), parent: step });
    } else if (current && typeof current === 'object') {
      const entries = Object.entries(current as Record<string, unknown>);
      for (let index = entries.length - 1; index >= 0; index--) {
        const [key, item] = entries[index]!;
        stack.push({ value: item, key, parent: step }, { value: key, key, parent: step });
      }
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
