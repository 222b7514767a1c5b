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

/** A figure over several rounds: its median, and the range of its values and ratios. */
export interface Summary {
  benchmark: string;
  metric: string;
  unit: string;
  rounds: number;
  median: number;
  min: number;
  max: number;
  baseline?: { name: string; median: number; unit: string };
  /** The median of the rounds' ratios, each taken against its own round's baseline. */
  ratio?: { median: number; min: number; max: number };
  goal?: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Each metric's rounds gathered into one line, printed as a table; rounds are in report order. */
export function summarize(all: Figure[]): Summary[] {
  const byMetric = new Map<string, Figure[]>();
  for (const figure of all) {
    const key = `${figure.benchmark}\u0000${figure.metric}`;
    byMetric.set(key, [...(byMetric.get(key) ?? []), figure]);
  }
  const summaries = [...byMetric.values()].map((rounds): Summary => {
    const [first] = rounds as [Figure];
    const values = rounds.map((figure) => figure.value);
    const ratios = rounds.flatMap((figure) => (figure.ratio === undefined ? [] : [figure.ratio]));
    const baselines = rounds.flatMap((figure) => (figure.baseline ? [figure.baseline.value] : []));
    return {
      benchmark: first.benchmark,
      metric: first.metric,
      unit: first.unit,
      rounds: rounds.length,
      median: median(values),
      min: Math.min(...values),
      max: Math.max(...values),
      ...(first.baseline
        ? { baseline: { name: first.baseline.name, median: median(baselines), unit: first.baseline.unit } }
        : {}),
      ...(ratios.length
        ? { ratio: { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) } }
        : {}),
      ...(first.goal ? { goal: first.goal } : {}),
    };
  });
  console.log('\nmedians over the rounds (min–max)');
  for (const s of summaries) {
    const base = s.baseline
      ? `  vs ${s.baseline.name} ${fmt(s.baseline.median)} ${s.baseline.unit}  ratio ${s.ratio!.median.toFixed(3)} (${s.ratio!.min.toFixed(3)}–${s.ratio!.max.toFixed(3)})`
      : '';
    console.log(
      `${s.benchmark.padEnd(14)} ${s.metric.padEnd(28)} ${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)}) ${s.unit}${base}${s.goal ? `  (goal ${s.goal})` : ''}`,
    );
  }
  return summaries;
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

/** Successful requests per second of an autocannon run. */
export function okPerSecond(result: autocannon.Result): number {
  return result['2xx'] / result.duration;
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
