/**
 * `npm run bench [name ...]`: runs the named benchmarks (all by default) against the local
 * PostgreSQL and Redis, printing each figure beside its same-run baseline as a ratio; every figure
 * is written to bench/results/latest.json. Each benchmark is bounded in time and stops by itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { figures, RESULTS_DIR } from './lib';
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

const wanted = process.argv.slice(2);
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
for (const name of wanted.length ? wanted : Object.keys(BENCHMARKS)) {
  try {
    await BENCHMARKS[name]!();
  } catch (error) {
    failed.push(name);
    console.error(`${name} failed:`, error);
  }
}
fs.mkdirSync(RESULTS_DIR, { recursive: true });
const file = path.join(RESULTS_DIR, 'latest.json');
fs.writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), figures, failed }, null, 2) + '\n');
console.log(`\n${figures.length} figures written to ${path.relative(process.cwd(), file)}`);
process.exit(failed.length ? 1 : 0);
