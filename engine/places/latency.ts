/**
 * Reply-time counts per place, for the dashboard's p50/p99: a log-linear histogram (8 buckets per power
 * of two of microseconds, so a quantile is within 12.5 %) that a place bumps once per completed message.
 * Counters, not events: a record is a multiply, a clz32, two shifts and one array increment (a few ns,
 * measured in benchmarks/dashboard-cost.ts), and readers diff two copies of `counts` to get any window.
 */

/** Buckets: 0–7 µs one each, then 8 per octave up to 2^31 µs (~36 min). */
export const LATENCY_BUCKETS = 8 + 28 * 8;

export class LatencyCounts {
  /** Messages per bucket since the place started (Float64: no wrap-around). */
  readonly counts = new Float64Array(LATENCY_BUCKETS);

  /** One reply that took `ms` from acceptance. */
  record(ms: number): void {
    const us = ms < 2e6 ? (ms * 1000) | 0 : 0x7fffffff;
    this.counts[bucketOf(us > 0 ? us : 0)]!++;
  }

  /** One message whose handler ran `ns` (the service time /metrics reports). */
  recordNs(ns: number): void {
    const us = ns < 2e12 ? (ns / 1000) | 0 : 0x7fffffff;
    this.counts[bucketOf(us > 0 ? us : 0)]!++;
  }
}

export function bucketOf(us: number): number {
  if (us < 8) return us;
  const e = 31 - Math.clz32(us); // floor(log2 us) ≥ 3
  return 8 + (e - 3) * 8 + ((us >>> (e - 3)) & 7);
}

/** A bucket's range [lo, hi) in µs. */
export function bucketRange(i: number): [number, number] {
  if (i < 8) return [i, i + 1];
  const e = 3 + ((i - 8) >> 3), m = (i - 8) & 7;
  return [(8 + m) * 2 ** (e - 3), (9 + m) * 2 ** (e - 3)];
}

/** The `q` quantile (0..1) of a histogram in ms (the bucket's midpoint), NaN when it is empty. */
export function quantileMs(counts: ArrayLike<number>, q: number): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) return NaN;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= rank && counts[i]! > 0) {
      const [lo, hi] = bucketRange(i);
      return (lo + hi) / 2 / 1000;
    }
  }
  return NaN;
}
