// A YCSB-B style closed-loop workload (95 % get / 5 % put, zipfian keys) against kv, recording per-message
// send time, latency and the place that ran it. Shared by `roam demo` and `npm run bench:places`.
import type { Client, PlaceName } from '../client/index.ts';

export interface Sample {
  sent: number;
  ms: number;
  place: number;
  put: boolean;
}

/** Zipfian (theta 0.99) key ranks over 1..n through a precomputed CDF. */
export function zipfian(n: number, theta = 0.99): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / Math.pow(i + 1, theta);
  return () => {
    const u = Math.random() * sum;
    let lo = 0, hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
}

const keyBuf = (k: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(k));
  return b;
};
const putBuf = (k: number) => Buffer.concat([keyBuf(k), Buffer.from(`value-${k}`.padEnd(32, '.'))]);

/** Puts keys 1..n. kv answers 503 "slot busy" when a writer of a colliding key holds the slot: retried. */
export async function loadKeys(c: Client, bundle: number, n: number): Promise<void> {
  const put = async (k: number): Promise<void> => {
    for (;;) {
      try {
        return void (await c.sendRaw(bundle, 2, putBuf(k), 'host'));
      } catch (e) {
        if (!(e as Error).message.includes('slot busy')) throw e;
      }
    }
  };
  for (let i = 1; i <= n; i += 1000) await Promise.all(Array.from({ length: Math.min(1000, n - i + 1) }, (_, j) => put(i + j)));
}

export interface RunOptions {
  durationMs: number;
  /** Messages in flight (pipeline depth). */
  window: number;
  keys: number;
  place?: PlaceName;
  getRatio?: number;
  /** Called at these offsets (ms) into the run. */
  at?: Array<{ ms: number; fn: () => void }>;
  /** Where samples go (read it while the run is live). */
  samples?: Sample[];
}

/**
 * `fired`: when each `at` callback actually ran (ms into the run; timers run late on a loaded machine).
 * `busyRetries`: kv's "503 slot busy" answers (a reader gave up on a slot a writer at another place held
 * through every retry: kv's documented signal to send again) — re-sent, so each sample is one completed
 * operation with its whole latency; any other error is a sample with place -1.
 */
export async function runYcsb(c: Client, bundle: number, o: RunOptions): Promise<{ samples: Sample[]; start: number; fired: number[]; busyRetries: number }> {
  const next = zipfian(o.keys);
  const samples: Sample[] = o.samples ?? [];
  const start = performance.now();
  const end = start + o.durationMs;
  const fired: number[] = [];
  let busyRetries = 0;
  const timers = (o.at ?? []).map((a, i) => setTimeout(() => {
    fired[i] = performance.now() - start;
    a.fn();
  }, a.ms));
  const getRatio = o.getRatio ?? 0.95;
  const one = async (): Promise<void> => {
    while (performance.now() < end) {
      const k = next();
      const put = Math.random() >= getRatio;
      const sent = performance.now();
      for (;;) {
        try {
          const r = await c.sendRaw(bundle, put ? 2 : 1, put ? putBuf(k) : keyBuf(k), o.place ?? 'auto');
          samples.push({ sent: sent - start, ms: performance.now() - sent, place: r.place, put });
        } catch (e) {
          if ((e as Error).message.includes('slot busy') && performance.now() < end) {
            busyRetries++;
            continue;
          }
          samples.push({ sent: sent - start, ms: performance.now() - sent, place: -1, put });
        }
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: o.window }, one));
  timers.forEach(clearTimeout);
  return { samples, start, fired, busyRetries };
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/**
 * Shift time: from `t0` (congestion: pass the moment it actually began, `fired` from runYcsb) to the start of the first 10 ms window in which at least `share` of
 * the messages were sent to `to`. Also the p99 of messages sent between t0 and the end of the shift (+100 ms).
 */
export function shiftAfter(samples: Sample[], t0: number, to: number, share = 0.8): { shiftMs: number; p99DuringMs: number } {
  const after = samples.filter((s) => s.sent >= t0);
  const bins = 5000;
  const total = new Int32Array(bins), hit = new Int32Array(bins);
  for (const s of after) {
    const b = Math.floor(s.sent - t0);
    if (b < bins) {
      total[b]++;
      if (s.place === to) hit[b]++;
    }
  }
  let shiftMs = NaN;
  for (let w = 0; w + 10 <= bins; w++) {
    let n = 0, h = 0;
    for (let k = w; k < w + 10; k++) (n += total[k]!), (h += hit[k]!);
    if (n >= 5 && h >= n * share) {
      shiftMs = w;
      break;
    }
  }
  const during = after.filter((s) => s.sent < t0 + (Number.isNaN(shiftMs) ? 1000 : shiftMs) + 100).map((s) => s.ms);
  return { shiftMs, p99DuringMs: percentile(during, 99) };
}
