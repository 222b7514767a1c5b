/**
 * `npm run bench [--rounds N] [name ...]`: runs the named benchmarks (all by default) against the
 * local PostgreSQL and Redis, printing each figure beside its same-run baseline as a ratio; every
 * figure is written to bench/results/latest.json. Each benchmark is bounded in time and stops by
 * itself. With several rounds (each benchmark once per round, in turn, so that a slow minute of the
 * machine does not fall on one benchmark's rounds only) a summary gives each figure's median and
 * range: one run on a shared machine varies by 10 to 20 %.
 */
import fs from 'node:fs';
import path from 'node:path';
import { figures, RESULTS_DIR, summarize } from './lib';
import { benchAuthedRead } from './authed-read';
import { benchLogin } from './login';
import { benchDashboard } from './dashboard';
import { benchOutbox } from './outbox';
import { benchCheckout } from './checkout';
import { benchCheckoutPaid } from './checkout-paid';
import { benchPayments } from './payments';
import { benchOrderRead } from './order-read';
import { benchOversell } from './oversell';
import { benchRealtime } from './realtime';

const BENCHMARKS: Record<string, () => Promise<void>> = {
  login: () => benchLogin(),
  'authed-read': () => benchAuthedRead(),
  outbox: () => benchOutbox(),
  dashboard: () => benchDashboard(),
  checkout: () => benchCheckout(),
  payments: () => benchPayments(),
  'checkout-paid': () => benchCheckoutPaid(),
  'order-read': () => benchOrderRead(),
  oversell: () => benchOversell(),
  realtime: () => benchRealtime(),
};

const args = process.argv.slice(2);
const roundsAt = args.indexOf('--rounds');
const rounds = roundsAt === -1 ? 1 : Number(args[roundsAt + 1]);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error('--rounds takes a whole number of rounds, at least 1');
  process.exit(2);
}
const wanted = roundsAt === -1 ? args : args.filter((_, i) => i !== roundsAt && i !== roundsAt + 1);
const unknown = wanted.filter((name) => !BENCHMARKS[name]);
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exit(2);
}
// The benchmarks start the API as separate processes from the test bundle: build it from this tree.
// @ts-expect-error -- the build script is plain JavaScript without type declarations
const { bundle } = (await import('../apps/api/build.mjs')) as { bundle: (outdir: string) => Promise<void> };
await bundle('dist-test');

const failed: string[] = [];
for (let round = 1; round <= rounds; round++) {
  if (rounds > 1) console.log(`\nround ${round} of ${rounds}`);
  for (const name of wanted.length ? wanted : Object.keys(BENCHMARKS)) {
    try {
      await BENCHMARKS[name]!();
    } catch (error) {
      failed.push(`${name} (round ${round})`);
      console.error(`${name} failed:`, error);
    }
  }
}
const summary = rounds > 1 ? summarize(figures) : undefined;
fs.mkdirSync(RESULTS_DIR, { recursive: true });
const file = path.join(RESULTS_DIR, 'latest.json');
fs.writeFileSync(
  file,
  JSON.stringify({ at: new Date().toISOString(), rounds, figures, summary, failed }, null, 2) + '\n',
);
console.log(`\n${figures.length} figures written to ${path.relative(process.cwd(), file)}`);
process.exit(failed.length ? 1 : 0);
