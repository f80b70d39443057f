// npm run bench:metrics-cost [-- BEFORE_DIR] — what /metrics' per-message counters cost the host-pool path:
// messages/s through server.dispatch with the engine of BEFORE_DIR (a checkout without them; default
// /work/main or ROAM_BEFORE) and of this checkout, in alternating rounds of separate processes, medians
// and their ratio. Load from other sessions hits both alike; say the load beside the figures.
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { median } from './harness.ts';

const after = resolve(import.meta.dirname, '..');
const before = resolve(process.argv[2] ?? process.env.ROAM_BEFORE ?? '/work/main');
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const runner = resolve(import.meta.dirname, 'metrics-cost-run.ts');
const once = (root: string) => Number(execFileSync(process.execPath, ['--import', 'tsx', runner, root, '200000'], { cwd: root, encoding: 'utf8', timeout: 300_000 }).trim());

const load = loadavg().map((x) => x.toFixed(1)).join(' / ');
const r = { before: [] as number[], after: [] as number[] };
for (let i = 0; i < ROUNDS; i++) {
  r.before.push(once(before));
  r.after.push(once(after));
  console.log(`round ${i + 1}: before ${r.before.at(-1)!.toFixed(0)} msgs/s, after ${r.after.at(-1)!.toFixed(0)} msgs/s`);
}
const b = median(r.before), a = median(r.after);
console.log(`host pool via dispatch, 2 workers, kv get, 512 in flight: before ${b.toFixed(0)} msgs/s, after ${a.toFixed(0)} msgs/s, after/before ${(a / b).toFixed(3)} (medians of ${ROUNDS}; load ${load} at start, ${loadavg().map((x) => x.toFixed(1)).join(' / ')} at end)`);
