/**
 * Prometheus conventions in one place: families kept in plain numbers and written out when scraped,
 * fixed-bucket histograms, bounded label values. prom-client's Registry writes the text format (HELP,
 * TYPE, escaping); its Counter/Histogram classes hash the label set on every update (~1–2 µs), which is
 * why hot paths here bump plain numbers and `scraped` turns them into samples at scrape time.
 */
import type { Registry } from 'prom-client';

export type MetricType = 'counter' | 'gauge' | 'histogram';
export interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * Most label sets one family reports. Label values that name things (functions, bundles, tenants) come
 * from the registry, so they are bounded by what is deployed; this cap bounds them even so (a tenant
 * deploying thousands of names, deploy churn): once a family holds this many, the rest fold into one
 * series whose naming labels read `_other`.
 */
export const MAX_SERIES = 500;
export const OTHER = '_other';

/** Error labels are codes (`E_FUEL`), never messages: anything else reads E_OTHER. */
export function errorCode(code: string): string {
  return /^E_[A-Z0-9_]{1,40}$/.test(code) ? code : 'E_OTHER';
}

/**
 * Registers a family whose samples are computed when scraped. Names are checked against the
 * conventions: a counter ends in `_total`, nothing else does.
 */
export function scraped(registry: Registry, name: string, help: string, type: MetricType, values: () => Sample[] | Promise<Sample[]>): void {
  if ((type === 'counter') !== name.endsWith('_total')) throw new Error(`metric ${name}: counters, and only counters, end in _total`);
  registry.registerMetric({
    name,
    help,
    type,
    aggregator: 'sum',
    async get() {
      return { name, help, type, aggregator: 'sum', values: await values() };
    },
    reset() {},
  } as never);
}

/** Fixed-bucket histogram in plain numbers: an observation is a few compares and adds, no allocation. */
export class Buckets {
  /** Observations per bucket, not cumulative; the last one is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly le: readonly number[]) {
    this.counts = new Float64Array(le.length + 1);
  }
  observe(v: number): void {
    let b = 0;
    while (b < this.le.length && v > this.le[b]!) b++;
    this.counts[b]!++;
    this.sum += v;
    this.count++;
  }
  /** Adds another histogram with the same buckets (folding series past the cap). */
  add(o: Buckets): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += o.counts[i]!;
    this.sum += o.sum;
    this.count += o.count;
  }
}

/** Buckets for durations in seconds: 10 µs to 10 s. */
export const SECONDS_BUCKETS = [1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A histogram's samples: cumulative `_bucket` lines with `le` (and +Inf), `_sum`, `_count`. */
export function histogramSamples(name: string, labels: Record<string, string | number>, le: readonly number[], counts: ArrayLike<number>, sum: number): Sample[] {
  const out: Sample[] = [];
  let cum = 0;
  for (let i = 0; i < le.length; i++) {
    cum += counts[i]!;
    out.push({ labels: { ...labels, le: le[i]! }, value: cum, metricName: `${name}_bucket` });
  }
  cum += counts[le.length]!;
  out.push({ labels: { ...labels, le: '+Inf' }, value: cum, metricName: `${name}_bucket` });
  out.push({ labels, value: sum, metricName: `${name}_sum` });
  out.push({ labels, value: cum, metricName: `${name}_count` });
  return out;
}

/**
 * Counts per error code (codes normalised by `errorCode`); at most 64 distinct codes, the rest count
 * as E_OTHER. For error paths: a Map lookup per error, no allocation once a code was seen.
 */
export class CodeCounts {
  private readonly byCode = new Map<string, number>();
  inc(code: string, n = 1): void {
    let c = this.byCode.has(code) ? code : errorCode(code);
    if (!this.byCode.has(c) && this.byCode.size >= 64) c = 'E_OTHER';
    this.byCode.set(c, (this.byCode.get(c) ?? 0) + n);
  }
  entries(): IterableIterator<[string, number]> {
    return this.byCode.entries();
  }
}

/**
 * Keeps the first MAX_SERIES rows and folds the rest into one row: `fold` merges a row into the
 * `_other` row (created from the first row past the cap by `other`).
 */
export function capRows<T>(rows: T[], other: (first: T) => T, fold: (into: T, row: T) => void): T[] {
  if (rows.length <= MAX_SERIES) return rows;
  const kept = rows.slice(0, MAX_SERIES - 1);
  const o = other(rows[MAX_SERIES - 1]!);
  for (let i = MAX_SERIES; i < rows.length; i++) fold(o, rows[i]!);
  kept.push(o);
  return kept;
}
