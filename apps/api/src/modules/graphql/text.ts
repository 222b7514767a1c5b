import { GraphQLError, type ASTVisitor, type ValidationContext } from 'graphql';
import mercurius from 'mercurius';

const UNSTORABLE = 'holds a NUL character or a lone UTF-16 surrogate, which text cannot hold';
// As the JSON body guard's: with the u flag, a surrogate pair is one code point, so \p{Cs} matches
// only a lone surrogate.
const UNSTORABLE_CHARACTER = /[\0\p{Cs}]/u;

/**
 * Refuses a string literal PostgreSQL could not store: the JSON body guard sees only its escaped
 * text ("a\\u0000b"), which the GraphQL lexer unescapes.
 */
export function storableTextRule(context: ValidationContext): ASTVisitor {
  return {
    StringValue(node) {
      if (!UNSTORABLE_CHARACTER.test(node.value)) return;
      context.reportError(
        new GraphQLError(`A string ${UNSTORABLE}`, {
          nodes: [node],
          extensions: { code: 'validation_failed' },
        }),
      );
    },
  };
}

/** Where in a variable's value a string (or key) holds text PostgreSQL cannot store, if anywhere. */
function unstorablePath(value: unknown, path: string[]): string[] | null {
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

/**
 * Refuses variables holding text PostgreSQL cannot store. A JSON body's are checked as it is
 * parsed; a GET's come in the query string as JSON, where a NUL is a \u0000 escape.
 */
export function checkVariables(variables: Record<string, unknown> | undefined): void {
  const path = unstorablePath(variables, []);
  if (!path) return;
  throw new mercurius.ErrorWithProps(
    `The variable $${path.join('.')} ${UNSTORABLE}`,
    { code: 'validation_failed' },
    400,
  );
}
