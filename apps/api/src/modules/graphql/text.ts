import { GraphQLError, type ASTVisitor, type ValidationContext } from 'graphql';
import mercurius from 'mercurius';
import { unstorablePath, UNSTORABLE_CHARACTER } from '../../platform/http/json-body';

const UNSTORABLE = 'holds a NUL character or a lone UTF-16 surrogate, which text cannot hold';

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

/**
 * Refuses variables holding text PostgreSQL cannot store. A JSON body's are checked as it is
 * parsed; a GET's come in the query string as JSON, where a NUL is a \u0000 escape.
 */
export function checkVariables(variables: Record<string, unknown> | undefined): void {
  const path = unstorablePath(variables);
  if (!path) return;
  throw new mercurius.ErrorWithProps(
    `The variable $${path.join('.')} ${UNSTORABLE}`,
    { code: 'validation_failed' },
    400,
  );
}
