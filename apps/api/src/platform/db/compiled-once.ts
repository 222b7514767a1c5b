import type { CompiledQuery, Compilable } from 'kysely';
import type { Executor } from './tenant';

/** Stands for the argument at `index` while the query is built; replaced by it when run. */
class Slot {
  constructor(readonly index: number) {}
}

/**
 * A hot query built and compiled once: each call binds its arguments into the compiled statement
 * instead of building and compiling the query again. `build` receives stand-ins for the arguments
 * and must use each only as a bound value (`where('id', '=', id)`), never to choose the query's
 * shape; one that does not reach the statement's parameters is refused when first compiled.
 */
export function compiledOnce<Args extends unknown[], Row>(
  arity: Args['length'],
  build: (executor: Executor, ...args: Args) => Compilable<Row>,
): (executor: Executor, ...args: Args) => Promise<Row[]> {
  let compiled: CompiledQuery<Row> | undefined;
  const compile = (executor: Executor): CompiledQuery<Row> => {
    const slots = Array.from({ length: arity }, (_, index) => new Slot(index));
    const query = build(executor, ...(slots as Args)).compile();
    const bound = new Set(query.parameters.filter((value) => value instanceof Slot));
    if (bound.size !== arity) throw new Error('compiledOnce: an argument is not a bound value of the query');
    return query;
  };
  return async (executor, ...args) => {
    compiled ??= compile(executor);
    const parameters = compiled.parameters.map((value) =>
      value instanceof Slot ? args[value.index] : value,
    );
    return (await executor.executeQuery<Row>({ ...compiled, parameters })).rows;
  };
}
