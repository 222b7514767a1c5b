import {
  getOperationAST,
  GraphQLError,
  Kind,
  valueFromASTUntyped,
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type GraphQLType,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import mercurius from 'mercurius';
import { DEFAULT_RANGE_MS, MAX_SERIES_BUCKETS, RECOMMENDATIONS_LIMIT } from '../analytics';

/** Fields answering a page: their selections run once per row, `limit` rows (default 50). */
const PAGE_FIELDS = new Set(['products', 'inventory', 'orders']);
/** Lists without a limit argument, sized at what they hold in a busy shop. */
const LIST_SIZES: Record<string, number> = {
  lines: 20,
  payments: 10,
  refunds: 10,
  history: 10,
  top_products: 10,
  payment_mix: 10,
  low_stock: 20,
};
const DEFAULT_PAGE = 50;

/**
 * A dashboard runs four transactions of six queries over the sales rollups whatever is selected;
 * each point of the series it builds counts 1 more.
 */
const DASHBOARD_COST = 400;

/**
 * Recommendations read ranked candidates in pages of twice their limit, with those products, and
 * may do so for two strategies: a few queries, and about four rows per item asked for.
 */
const RECOMMENDATIONS_COST = 50;
const RECOMMENDATIONS_ROW_COST = 4;

/** The values of an operation's variables in a request: those given, else their defaults. */
function variableValues(
  operation: OperationDefinitionNode,
  given: Record<string, unknown> | null | undefined,
): ReadonlyMap<string, unknown> {
  const values = new Map<string, unknown>();
  for (const { variable, defaultValue } of operation.variableDefinitions ?? []) {
    const name = variable.name.value;
    if (given && Object.hasOwn(given, name)) values.set(name, given[name]);
    else if (defaultValue) values.set(name, valueFromASTUntyped(defaultValue));
  }
  return values;
}

/**
 * An argument as its resolver gets it: its literal's value, or its variable's value in this
 * request; undefined or null when it has none, and the resolver takes its default.
 */
function argument(field: FieldNode, name: string, values: ReadonlyMap<string, unknown>): unknown {
  const node = field.arguments?.find((arg) => arg.name.value === name)?.value;
  if (!node) return undefined;
  if (node.kind === Kind.VARIABLE) return values.get(node.name.value);
  return valueFromASTUntyped(node);
}

const numberOf = (value: unknown): number | null => (typeof value === 'number' ? value : null);

/** The points a dashboard's series holds, from its range and interval. */
function seriesLength(field: FieldNode, values: ReadonlyMap<string, unknown>): number {
  const interval = argument(field, 'interval', values);
  const daily = interval === undefined || interval === null || interval === 'day';
  const instant = (value: unknown, otherwise: number) => {
    const given = typeof value === 'string' ? Date.parse(value) : NaN;
    // A bound that is no time is refused before anything is read.
    return Number.isNaN(given) ? otherwise : given;
  };
  const to = instant(argument(field, 'to', values), Date.now());
  const from = instant(argument(field, 'from', values), to - DEFAULT_RANGE_MS);
  // A local day or hour straddling either end adds a point.
  const buckets = Math.ceil((to - from) / (daily ? 86_400_000 : 3_600_000)) + 1;
  return Math.min(Math.max(buckets, 1), MAX_SERIES_BUCKETS);
}

/**
 * What introspection's lists hold in this schema on average (`types` all of them), and how often a
 * type reference wraps another (`ofType`): the estimate of a standard introspection query then
 * comes out at about the fields it resolves, and every alias or repetition is counted.
 */
const introspectionSizes = new WeakMap<GraphQLSchema, Record<string, number>>();
function introspectionSizesOf(schema: GraphQLSchema): Record<string, number> {
  const known = introspectionSizes.get(schema);
  if (known) return known;
  // Mercurius builds the schema with graphql's CommonJS build, whose types the ESM build's
  // isObjectType and kin refuse: the kinds are told apart by their methods.
  const types = Object.values(schema.getTypeMap());
  const withFields = types.flatMap((type) => ('getInterfaces' in type ? [type] : []));
  const fields = withFields.flatMap((type) => Object.values(type.getFields()));
  const inputFields = types.flatMap((type) =>
    'getFields' in type && !('getInterfaces' in type) ? Object.values(type.getFields()) : [],
  );
  const directives = schema.getDirectives();
  const args = [...fields, ...directives].flatMap((owner) => owner.args);
  const count = (values: number[]) => values.reduce((sum, value) => sum + value, 0);
  let references = 0;
  let wrappers = 0;
  for (const { type } of [...fields, ...args, ...inputFields]) {
    let reference: GraphQLType = type;
    references++;
    while ('ofType' in reference) {
      wrappers++;
      reference = reference.ofType;
    }
  }
  const sizes = {
    types: types.length,
    fields: fields.length / types.length,
    inputFields: inputFields.length / types.length,
    interfaces: count(withFields.map((type) => type.getInterfaces().length)) / types.length,
    possibleTypes:
      count(types.map((type) => ('getTypes' in type ? type.getTypes().length : 0))) / types.length,
    enumValues:
      count(types.map((type) => ('getValues' in type ? type.getValues().length : 0))) / types.length,
    args: args.length / (fields.length + directives.length),
    directives: directives.length,
    // A chain of n wrappers is n + 1 references: this ratio makes the chains' estimate exact on the whole.
    ofType: wrappers / (references + wrappers),
  };
  introspectionSizes.set(schema, sizes);
  return sizes;
}

interface Measure {
  /** Levels below the selection set. */
  depth: number;
  /** The fields resolved for one resolution of the field holding the selection set. */
  cost: number;
}

/**
 * How deep an operation nests and what it is estimated to cost: every field costs 1 per time it is
 * resolved (a dashboard or recommendations more, for the reads they run), and a list multiplies
 * what it contains by its size (a page by its `limit`, other lists by a typical size), arguments
 * read from `values` where variables give them. Introspection is counted at what this schema's
 * lists hold, but not for depth: a standard introspection query nests its type references deeper
 * than a data query may go.
 */
function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  values: ReadonlyMap<string, unknown>,
): Measure {
  const introspection = introspectionSizesOf(schema);
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  // A fragment is measured once for the list sizes it is spread under: spread twice in a
  // fragment spread twice, and so on, it would otherwise take time exponential in the query.
  const measured = new WeakMap<Record<string, number>, Map<string, Measure>>();

  /** `sizes`: the lists' sizes where the selection set is (a dashboard's series, say). */
  const measure = (
    set: SelectionSetNode,
    sizes: Record<string, number>,
    seen: ReadonlySet<string>,
  ): Measure => {
    let depth = 0;
    let cost = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        const introspecting = sizes === introspection || name.startsWith('__');
        let own = 1;
        let size = sizes[name] ?? 1;
        let inner = introspecting ? introspection : LIST_SIZES;
        // No introspection field has these names.
        if (PAGE_FIELDS.has(name)) {
          size = Math.max(1, numberOf(argument(selection, 'limit', values)) ?? DEFAULT_PAGE);
        } else if (name === 'dashboard') {
          const series = seriesLength(selection, values);
          own = DASHBOARD_COST + series;
          inner = { ...LIST_SIZES, series };
        } else if (name === 'recommendations') {
          const items = Math.max(
            1,
            numberOf(argument(selection, 'limit', values)) ?? RECOMMENDATIONS_LIMIT.default,
          );
          own = RECOMMENDATIONS_COST + RECOMMENDATIONS_ROW_COST * items;
          inner = { ...LIST_SIZES, items };
        }
        cost += own;
        if (!introspecting) depth = Math.max(depth, 1);
        if (!selection.selectionSet) continue;
        const below = measure(selection.selectionSet, inner, seen);
        if (!introspecting) depth = Math.max(depth, 1 + below.depth);
        cost += size * below.cost;
        continue;
      }
      let below: Measure;
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        below = measure(selection.selectionSet, sizes, seen);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        // A cycle is reported by graphql's own NoFragmentCycles rule.
        if (!fragment || seen.has(name)) continue;
        const known = measured.get(sizes) ?? new Map<string, Measure>();
        measured.set(sizes, known);
        below = known.get(name) ?? measure(fragment.selectionSet, sizes, new Set([...seen, name]));
        known.set(name, below);
      }
      depth = Math.max(depth, below.depth);
      cost += below.cost;
    }
    return { depth, cost };
  };
  return measure(operation.selectionSet, LIST_SIZES, new Set());
}

/** Refuses, before anything runs, an operation nested deeper than maxDepth. */
export function queryDepthRule(maxDepth: number) {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node) {
      const { depth } = measureOperation(context.getSchema(), context.getDocument(), node, new Map());
      if (depth <= maxDepth) return;
      context.reportError(
        new GraphQLError(`The query is ${depth} levels deep; at most ${maxDepth} are allowed`, {
          nodes: [node],
          extensions: { code: 'query_too_deep' },
        }),
      );
    },
  });
}

/**
 * Refuses, before it runs, the operation a request names if its estimated cost is above maxCost.
 * It is checked per request, not with the document's (cached) validation, so that arguments given
 * by variables count at their values.
 */
export function checkQueryCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown> | null | undefined,
  maxCost: number,
): void {
  // With no such operation, graphql-js refuses the request before running anything.
  const operation = getOperationAST(document, operationName);
  if (!operation) return;
  const { cost } = measureOperation(schema, document, operation, variableValues(operation, variables));
  const estimate = Math.ceil(cost);
  if (estimate <= maxCost) return;
  throw new mercurius.ErrorWithProps(
    `The query's estimated cost is ${estimate}; at most ${maxCost} is allowed`,
    { code: 'query_too_costly' },
    400,
  );
}

/**
 * Deeper than any query the depth limit lets run, even with nested argument values, and far
 * below the ~2,000 levels at which graphql-js' recursive parser runs out of stack.
 */
export const MAX_NESTING = 100;

/**
 * How deep braces, brackets and parentheses nest in a query's text, outside strings and comments
 * (as graphql-js' lexer reads them; JSON, which Mercurius also takes for a document, alike): read
 * without recursion, before the text is parsed.
 */
export function nestingOf(source: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < source.length; i++) {
    const char = source[i];
    if (char === '#') {
      while (i < source.length && source[i] !== '\n' && source[i] !== '\r') i++;
    } else if (source.startsWith('"""', i)) {
      // A block string ends at the next """ that is not escaped as \""".
      for (i += 3; i < source.length && !source.startsWith('"""', i); i++) {
        if (source.startsWith('\\"""', i)) i += 3;
      }
      i += 2;
    } else if (char === '"') {
      for (i++; i < source.length && source[i] !== '"' && source[i] !== '\n' && source[i] !== '\r'; i++) {
        if (source[i] === '\\') i++;
      }
    } else if (char === '{' || char === '[' || char === '(') {
      deepest = Math.max(deepest, ++depth);
    } else if (char === '}' || char === ']' || char === ')') {
      depth--;
    }
  }
  return deepest;
}

/**
 * Refuses variables whose arrays and objects nest deeper than MAX_NESTING (no argument of this
 * schema takes more than one level), read without recursion: the checks of their text recurse.
 */
export function checkVariableNesting(variables: Record<string, unknown> | null | undefined): void {
  const pending: [value: unknown, depth: number][] = [[variables, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [value, depth] = next;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_NESTING) {
      throw new mercurius.ErrorWithProps(
        `The variables nest more than ${MAX_NESTING} levels of arrays or objects`,
        { code: 'validation_failed' },
        400,
      );
    }
    for (const item of Object.values(value)) pending.push([item, depth + 1]);
  }
}
