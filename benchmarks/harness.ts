/** Benchmark harness: runs a body in timed rounds and reports the median rate, so noisy rounds don't decide. */
import { readFileSync } from 'node:fs';
export interface Rate {
  name: string;
  opsPerSec: number;
}

/**
 * Measures several cases in interleaved rounds (a, b, c, a, b, c, …) so drift in machine load hits
 * every case alike; reports each case's median rate.
 */
export function measureInterleaved(cases: Array<{ name: string; ops: number; body: () => void }>, rounds = 9, warmup = 2): Rate[] {
  for (let i = 0; i < warmup; i++) for (const c of cases) c.body();
  const rates = cases.map(() => [] as number[]);
  for (let i = 0; i < rounds; i++) {
    cases.forEach((c, j) => {
      const t0 = process.hrtime.bigint();
      c.body();
      rates[j]!.push((c.ops * 1e9) / Number(process.hrtime.bigint() - t0));
    });
  }
  return cases.map((c, j) => {
    const r = rates[j]!.sort((a, b) => a - b);
    return { name: c.name, opsPerSec: r[Math.floor(r.length / 2)]! };
  });
}

export function measure(name: string, opsPerRound: number, body: () => void, rounds = 7, warmup = 2): Rate {
  for (let i = 0; i < warmup; i++) body();
  const rates: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    body();
    const ns = Number(process.hrtime.bigint() - t0);
    rates.push((opsPerRound * 1e9) / ns);
  }
  rates.sort((a, b) => a - b);
  return { name, opsPerSec: rates[Math.floor(rates.length / 2)]! };
}

/** CPU time (user + system, all threads) a Linux process has used so far, ms; NaN where /proc is missing. */
export function procCpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [utime, stime] = f.slice(f.lastIndexOf(')') + 2).split(' ').slice(11, 13).map(Number);
    return ((utime! + stime!) * 1000) / 100; // clock ticks of 10 ms (USER_HZ)
  } catch {
    return NaN;
  }
}

/** The middle value (the upper middle for an even count); the input is not reordered. */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

export const fmt = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0));

/** Prints "name  rate/s" rows and ratio lines against a baseline measured in the same run. */
export function report(title: string, rows: Rate[], ratios: Array<[string, Rate, Rate, number]>): string {
  const out = [`## ${title}`, '', '| case | ops/s |', '|---|---|', ...rows.map((r) => `| ${r.name} | ${fmt(r.opsPerSec)} |`), '', '| ratio | value | goal |', '|---|---|---|'];
  for (const [label, a, b, goal] of ratios) {
    const v = a.opsPerSec / b.opsPerSec;
    out.push(`| ${label} | ${v.toFixed(2)}x | ${goal > 0 ? `≥ ${goal}x ${v >= goal ? '(met)' : '(NOT met)'}` : '(reported)'} |`);
  }
  return out.join('\n');
}
