import { GraphQLError, GraphQLScalarType, valueFromASTUntyped, type ExecutionResult } from 'graphql';
import mercurius, { type MercuriusContext } from 'mercurius';
import { AppError } from '../../platform/errors';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../../platform/http/problem';
import { problems } from '../../platform/http/schemas';
import type { Platform } from '../../platform/platform';
import type { ModuleInstance } from '../index';
import { MAX_NESTING, nestingOf, queryLimitRule } from './limits';
import { contextOf, resolvers, type GraphqlServices } from './resolvers';
import { schema } from './schema';
import { checkVariables, storableTextRule } from './text';

export type { GraphqlServices } from './resolvers';

const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast) => valueFromASTUntyped(ast),
});

/**
 * Errors leave as GraphQL errors: the rules' own (AppError, with their stable `code`) and the
 * query's (syntax, validation, limits) as they are; anything unexpected is logged and masked, as
 * REST's problem handler does.
 */
function errorFormatter(
  execution: ExecutionResult & Required<Pick<ExecutionResult, 'errors'>>,
  context: MercuriusContext,
) {
  // The platform's refusals before any query runs (a rate limit) are HTTP answers, as on every
  // route: problem+json with their status, code and headers (Retry-After), as documented.
  const refusal = 'data' in execution ? undefined : execution.errors[0]?.originalError;
  if (refusal instanceof AppError) {
    const { problem, headers } = toProblem(refusal, context.reply.request.id);
    void context.reply.headers(headers).type(PROBLEM_CONTENT_TYPE);
    // Mercurius sends the response as given; the route's schema for the status serializes a problem.
    return { statusCode: problem.status, response: problem as unknown as ExecutionResult };
  }
  const errors = execution.errors.map((error) => {
    const original: unknown = error.originalError;
    const expected =
      original === undefined ||
      original instanceof mercurius.ErrorWithProps ||
      original instanceof GraphQLError ||
      Array.isArray((original as { errors?: unknown }).errors);
    if (expected) return error;
    // What the platform maps to the client's fault (text the database refused) is not ours either.
    const { problem } = toProblem(original, context.reply.request.id);
    if (problem.status < 500) {
      return new GraphQLError(problem.detail, {
        nodes: error.nodes ?? null,
        path: error.path ?? null,
        extensions: { code: problem.code },
      });
    }
    // Mercurius' own refusals of a request (no query given, say) are the client's error: a 400.
    const status = (original as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return new GraphQLError(error.message, {
        extensions: { code: 'bad_request' },
        originalError: Object.assign(new Error(error.message), { statusCode: status }),
      });
    }
    context.reply.log.error({ err: original }, 'GraphQL resolver failed');
    return new GraphQLError(`An internal error occurred; quote request id ${context.reply.request.id}`, {
      nodes: error.nodes ?? null,
      path: error.path ?? null,
      extensions: { code: 'internal_error' },
    });
  });
  return mercurius.defaultErrorFormatter({ ...execution, errors }, context);
}

/**
 * `POST /graphql` (and GET): the contract's queries over the same services, permission checks and
 * tenant transactions as REST, with depth and cost limits; GraphiQL at /graphiql in development.
 */
export function createGraphqlModule(platform: Platform, services: GraphqlServices): ModuleInstance {
  const { config, db } = platform;
  const limits = { maxDepth: config.GRAPHQL_MAX_DEPTH, maxCost: config.GRAPHQL_MAX_COST };
  return {
    name: 'graphql',
    routes: async (app) => {
      // Mercurius' own routes carry only their body schema; these make them readable in OpenAPI.
      app.addHook('onRoute', (route) => {
        if (route.url !== '/graphql' || route.method === 'HEAD') return;
        route.schema = {
          ...route.schema,
          tags: ['graphql'],
          summary:
            route.method === 'GET'
              ? 'Run a GraphQL query given in the query string'
              : 'Run a GraphQL query: me, products, product, inventory, orders, order, dashboard, recommendations',
          response: { ...(route.schema?.response as object | undefined), ...problems(401) },
        };
      });
      await app.register(mercurius, {
        schema,
        resolvers: { ...resolvers(db, services), JSON: JSONScalar },
        context: contextOf(db, services),
        path: '/graphql',
        graphiql: config.NODE_ENV === 'development',
        allowBatchedQueries: false,
        validationRules: [queryLimitRule(limits), storableTextRule],
        errorFormatter,
      });
      // graphql-js parses recursively: a query nested too deep would exhaust the stack first.
      app.graphql.addHook('preParsing', (_schema, source) => {
        const nesting = nestingOf(source);
        if (nesting > MAX_NESTING) {
          throw new mercurius.ErrorWithProps(
            `The query nests ${nesting} levels of braces, brackets or parentheses; at most ${MAX_NESTING} are allowed`,
            { code: 'query_too_deep' },
            400,
          );
        }
        return Promise.resolve();
      });
      // A query that is no GraphQL but is JSON ("2", "[]") Mercurius takes for a parsed document,
      // which graphql-js then fails to walk: it is the client's syntax error, not ours.
      app.graphql.addHook('preValidation', (_schema, document) => {
        const parsed = document as { kind?: unknown; definitions?: unknown } | null;
        if (parsed?.kind !== 'Document' || !Array.isArray(parsed.definitions)) {
          throw new mercurius.ErrorWithProps(
            'Syntax Error: the query is not a GraphQL document',
            { code: 'bad_request' },
            400,
          );
        }
        return Promise.resolve();
      });
      app.graphql.addHook('preExecution', (_schema, _document, _context, variables) => {
        checkVariables(variables);
        return Promise.resolve();
      });
    },
  };
}
