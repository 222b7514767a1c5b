/**
 * `npm run bench [name ...]`: runs the named benchmarks (all by default) against the local
 * PostgreSQL and Redis, printing each figure beside its same-run baseline; results are appended to
 * bench/results/latest.ndjson.
 */
import { benchOutbox } from './outbox';

const BENCHMARKS: Record<string, () => Promise<void>> = {
  outbox: () => benchOutbox(),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !BENCHMARKS[name]);
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exit(2);
}
for (const name of wanted.length ? wanted : Object.keys(BENCHMARKS)) {
  await BENCHMARKS[name]!();
}
process.exit(0);
