import { execFileSync } from 'node:child_process';
import type autocannon from 'autocannon';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Figure {
  benchmark: string;
  metric: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number; unit: string };
  /** value / baseline.value */
  ratio?: number;
  goal?: string;
}

export const RESULTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'results');

/** Every figure reported in this run, in order; `npm run bench` writes them to results/latest.json. */
export const figures: Figure[] = [];

export function report(figure: Figure): Figure {
  const ratio = figure.baseline ? figure.value / figure.baseline.value : undefined;
  const withRatio = { ...figure, ...(ratio === undefined ? {} : { ratio: Number(ratio.toFixed(3)) }) };
  const base = figure.baseline
    ? `  vs ${figure.baseline.name} ${fmt(figure.baseline.value)} ${figure.baseline.unit}  ratio ${ratio!.toFixed(3)}`
    : '';
  console.log(
    `${figure.benchmark.padEnd(14)} ${figure.metric.padEnd(28)} ${fmt(figure.value)} ${figure.unit}${base}${figure.goal ? `  (goal ${figure.goal})` : ''}`,
  );
  figures.push(withRatio);
  return withRatio;
}

function fmt(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
}

/** redis-benchmark's requests per second for one command, from its CSV output. */
export function redisBenchmark(args: string[]): number {
  const output = execFileSync('redis-benchmark', ['--csv', ...args], { encoding: 'utf8' });
  const line = output.trim().split('\n').at(-1) ?? '';
  const value = Number(line.split(',')[1]?.replace(/"/g, ''));
  if (!Number.isFinite(value)) throw new Error(`unexpected redis-benchmark output: ${output}`);
  return value;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The run, once every one of its requests succeeded; otherwise an error saying how they failed. */
export function succeeded(result: autocannon.Result, what: string): autocannon.Result {
  const failed = result.non2xx + result.errors + result.timeouts;
  if (failed > 0) {
    throw new Error(
      `${failed} ${what} failed (${result['4xx']} 4xx, ${result['5xx']} 5xx, ${result.errors} errors, ${result.timeouts} timeouts)`,
    );
  }
  return result;
}
