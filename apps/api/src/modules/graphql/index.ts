import { GraphQLError, GraphQLScalarType, valueFromASTUntyped, type ExecutionResult } from 'graphql';
import mercurius, { type MercuriusContext } from 'mercurius';
import { AppError } from '../../platform/errors';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../../platform/http/problem';
import { problems } from '../../platform/http/schemas';
import type { Platform } from '../../platform/platform';
import type { ModuleInstance } from '../index';
import { checkQueryCost, checkVariableNesting, MAX_NESTING, nestingOf, queryDepthRule } from './limits';
import { checkGetRequest, operationNameOf, operationTypeRule, parsedByGraphql } from './requests';
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

/** An error of a refused request, as it leaves: with its code, or graphql-js' syntax or validation one. */
function refusalError(error: {
  message: string;
  nodes?: GraphQLError['nodes'];
  source?: GraphQLError['source'];
  positions?: GraphQLError['positions'];
  extensions?: GraphQLError['extensions'];
}): GraphQLError {
  const own = error.extensions?.code;
  const code =
    typeof own === 'string'
      ? own
      : error.message.startsWith('Syntax Error')
        ? 'bad_request'
        : 'validation_failed';
  return new GraphQLError(error.message, {
    nodes: error.nodes ?? null,
    source: error.source ?? null,
    positions: error.positions ?? null,
    extensions: { ...error.extensions, code },
  });
}

/**
 * Errors leave as GraphQL errors: the rules' own (AppError, with their stable `code`) as they are;
 * anything unexpected is logged and masked, as REST's problem handler does. A request refused
 * before anything ran (its document's syntax or validity, its limits, variables or operation name)
 * is the client's error: a 400 (or the status Mercurius gave), each error with a code.
 */
function errorFormatter(
  execution: ExecutionResult & Required<Pick<ExecutionResult, 'errors'>>,
  context: MercuriusContext,
) {
  // graphql-js leaves `data` out of a result only when it ran nothing; Mercurius' own refusals
  // (thrown before executing) come without it too.
  const refused = !('data' in execution);
  // The platform's refusals before any query runs (a rate limit) are HTTP answers, as on every
  // route: problem+json with their status, code and headers (Retry-After), as documented.
  const refusal = refused ? execution.errors[0]?.originalError : undefined;
  if (refusal instanceof AppError) {
    const { problem, headers } = toProblem(refusal, context.reply.request.id);
    void context.reply.headers(headers).type(PROBLEM_CONTENT_TYPE);
    // Mercurius sends the response as given; the route's schema for the status serializes a problem.
    return { statusCode: problem.status, response: problem as unknown as ExecutionResult };
  }
  let status = 400;
  let internal = false;
  const errors = execution.errors.flatMap((error) => {
    const original: unknown = error.originalError;
    const { statusCode: given, errors: gathered } = (original ?? {}) as {
      statusCode?: unknown;
      errors?: unknown;
    };
    // Mercurius' own refusals (of the document, of a body that is no GraphQL request) say their status.
    const clientStatus = typeof given === 'number' && given >= 400 && given < 500 ? given : undefined;
    if (clientStatus) status = clientStatus;
    // graphql-js' syntax or validation errors, or Fastify's of the body, gathered in one refusal.
    if (refused && clientStatus && Array.isArray(gathered)) return (gathered as Error[]).map(refusalError);
    const expected =
      original === undefined ||
      original instanceof mercurius.ErrorWithProps ||
      original instanceof GraphQLError;
    if (expected) return [refused ? refusalError(error) : error];
    // What the platform maps to the client's fault (text the database refused) is not ours either.
    const { problem } = toProblem(original, context.reply.request.id);
    if (problem.status < 500) {
      return [
        new GraphQLError(problem.detail, {
          nodes: error.nodes ?? null,
          path: error.path ?? null,
          extensions: { code: problem.code },
        }),
      ];
    }
    // Mercurius' own refusals of a request (no query given, say) are the client's error.
    if (clientStatus) {
      return [new GraphQLError(error.message, { extensions: { code: 'bad_request' } })];
    }
    internal = true;
    context.reply.log.error({ err: original }, 'GraphQL resolver failed');
    return [
      new GraphQLError(`An internal error occurred; quote request id ${context.reply.request.id}`, {
        nodes: error.nodes ?? null,
        path: error.path ?? null,
        extensions: { code: 'internal_error' },
      }),
    ];
  });
  return mercurius.defaultErrorFormatter(
    { ...execution, errors, ...(refused && !internal ? { statusCode: status } : {}) },
    context,
  );
}

/**
 * `POST /graphql` (and GET): the contract's queries over the same services, permission checks and
 * tenant transactions as REST, with depth and cost limits; GraphiQL at /graphiql in development.
 */
export function createGraphqlModule(platform: Platform, services: GraphqlServices): ModuleInstance {
  const { config, db } = platform;
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
        validationRules: [operationTypeRule, queryDepthRule(config.GRAPHQL_MAX_DEPTH), storableTextRule],
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
      app.graphql.addHook('preParsing', (_schema, source, context) => {
        if (context.reply.request.method === 'GET') checkGetRequest(context.reply.request, source);
        return Promise.resolve();
      });
      app.graphql.addHook('preValidation', (_schema, document) => {
        if (!parsedByGraphql(document)) {
          throw new mercurius.ErrorWithProps(
            'Syntax Error: the query is not a GraphQL document',
            { code: 'bad_request' },
            400,
          );
        }
        return Promise.resolve();
      });
      app.graphql.addHook('preExecution', (schema, document, context, variables) => {
        checkVariableNesting(variables);
        checkVariables(variables);
        const operationName = operationNameOf(context.reply.request);
        checkQueryCost(schema, document, operationName, variables, config.GRAPHQL_MAX_COST);
        return Promise.resolve();
      });
    },
  };
}
