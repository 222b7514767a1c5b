import {
  getOperationAST,
  GraphQLError,
  Kind,
  parse,
  type ASTVisitor,
  type DocumentNode,
  type ValidationContext,
} from 'graphql';
import type { FastifyRequest } from 'fastify';
import mercurius from 'mercurius';

/** The parameters of a GraphQL request, from its JSON body or a GET's query string. */
interface RequestParameters {
  operationName?: unknown;
  variables?: unknown;
}

function parametersOf(request: FastifyRequest): RequestParameters {
  return (request.method === 'GET' ? request.query : request.body) ?? {};
}

/** The operation a request names, if any. */
export function operationNameOf(request: FastifyRequest): string | undefined {
  const { operationName } = parametersOf(request);
  return typeof operationName === 'string' ? operationName : undefined;
}

function refusal(message: string): Error {
  return new mercurius.ErrorWithProps(message, { code: 'validation_failed' }, 400);
}

/**
 * Refuses an operation whose type the schema does not define (a mutation: it has queries only), as
 * the GraphQL spec's validation does; graphql-js 16 only fails it when executing, with a 200.
 */
export function operationTypeRule(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(node) {
      if (context.getSchema().getRootType(node.operation)) return;
      context.reportError(
        new GraphQLError(`The ${node.operation} operation is not supported by the schema`, {
          nodes: [node],
          extensions: { code: 'validation_failed' },
        }),
      );
    },
  };
}

/**
 * Whether graphql-js parsed the document: Mercurius takes a query that is no GraphQL but is JSON
 * ("2", "{}", an AST of its own making) for a parsed document, which graphql-js may then fail to
 * walk. Parsing tags every node's location as a Location; JSON can only make plain objects.
 */
export function parsedByGraphql(document: unknown): boolean {
  const location = (document as { loc?: unknown } | null)?.loc;
  return Object.prototype.toString.call(location) === '[object Location]';
}

/**
 * Refuses what Mercurius takes from a GET's query string unchecked, which would otherwise fail as
 * internal errors: variables that are JSON but no object (graphql-js asserts they are one), and an
 * operation name that picks no operation (Mercurius looks the operation up to refuse a mutation
 * without asking whether there is one).
 */
export function checkGetRequest(request: FastifyRequest, source: string): void {
  const { operationName, variables } = parametersOf(request);
  // Mercurius has parsed them already: it answers JSON that does not parse itself.
  const parsed: unknown = typeof variables === 'string' && variables !== '' ? JSON.parse(variables) : null;
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw refusal('The variables must be a JSON object');
  }
  let document: DocumentNode;
  try {
    document = parse(source, { noLocation: true });
  } catch {
    // Mercurius answers the syntax error.
    return;
  }
  // A document without operations fails validation.
  const operations = document.definitions.filter(
    (definition) => definition.kind === Kind.OPERATION_DEFINITION,
  );
  const name = typeof operationName === 'string' ? operationName : undefined;
  if (operations.length === 0 || getOperationAST(document, name)) return;
  throw refusal(
    name === undefined
      ? 'Must provide operation name if query contains multiple operations.'
      : `Unknown operation named "${name}".`,
  );
}
