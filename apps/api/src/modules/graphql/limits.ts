import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValueNode,
} from 'graphql';

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
}

/** Fields answering a page: their selections run once per row, `limit` rows (default 50). */
const PAGE_FIELDS = new Set(['products', 'inventory', 'orders']);
/** Lists without a limit argument, sized at what they hold in a busy shop. */
const LIST_SIZES: Record<string, number> = {
  lines: 20,
  payments: 10,
  refunds: 10,
  history: 10,
  series: 50,
  top_products: 10,
  payment_mix: 10,
  low_stock: 20,
};
const DEFAULT_PAGE = 50;

/** MAX_PAGE for a `limit` given as a variable: validation is cached per query text, so worst case. */
const MAX_PAGE = 200;

function numberOf(value: ValueNode | undefined): number | null {
  if (!value) return null;
  if (value.kind === Kind.INT) return Number(value.value);
  if (value.kind === Kind.VARIABLE) return MAX_PAGE;
  return null;
}

/**
 * Refuses, before anything runs, a query nested deeper than maxDepth or whose estimated cost is
 * above maxCost: every field costs 1 per time it is resolved, and a list multiplies what it
 * contains by its size (a page by its `limit`, other lists by a typical size). Introspection
 * fields are not counted.
 */
export function queryLimitRule(limits: QueryLimits) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    const measure = (
      set: SelectionSetNode,
      depth: number,
      multiplier: number,
      seen: ReadonlySet<string>,
    ): { depth: number; cost: number } => {
      let deepest = depth;
      let cost = 0;
      for (const selection of set.selections) {
        let inner: { depth: number; cost: number } | null = null;
        if (selection.kind === Kind.FIELD) {
          const name = selection.name.value;
          if (name.startsWith('__')) continue;
          cost += multiplier;
          if (!selection.selectionSet) {
            deepest = Math.max(deepest, depth + 1);
            continue;
          }
          const limitArg = selection.arguments?.find((arg) => arg.name.value === 'limit')?.value;
          const size = PAGE_FIELDS.has(name)
            ? (numberOf(limitArg) ?? DEFAULT_PAGE)
            : name === 'items'
              ? (numberOf(limitArg) ?? 10)
              : (LIST_SIZES[name] ?? 1);
          inner = measure(selection.selectionSet, depth + 1, multiplier * Math.max(1, size), seen);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          inner = measure(selection.selectionSet, depth, multiplier, seen);
        } else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          // A cycle is reported by graphql's own NoFragmentCycles rule.
          if (!fragment || seen.has(name)) continue;
          inner = measure(fragment.selectionSet, depth, multiplier, new Set([...seen, name]));
        }
        deepest = Math.max(deepest, inner.depth);
        cost += inner.cost;
      }
      return { depth: deepest, cost };
    };
    return {
      OperationDefinition(node) {
        const { depth, cost } = measure(node.selectionSet, 0, 1, new Set());
        if (depth > limits.maxDepth) {
          context.reportError(
            new GraphQLError(`The query is ${depth} levels deep; at most ${limits.maxDepth} are allowed`, {
              nodes: [node],
              extensions: { code: 'query_too_deep' },
            }),
          );
        }
        if (cost > limits.maxCost) {
          context.reportError(
            new GraphQLError(`The query's estimated cost is ${cost}; at most ${limits.maxCost} is allowed`, {
              nodes: [node],
              extensions: { code: 'query_too_costly' },
            }),
          );
        }
      },
    };
  };
}
