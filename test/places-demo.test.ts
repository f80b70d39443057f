import { describe, expect, it } from 'vitest';
import { shmAddon } from '../engine/shm/index.ts';
import { roam } from './helpers/cli.ts';

// `npm run demo` end to end: a real server, a real DPU agent process, a real client. It asserts behaviour,
// not timings: the host is made unavailable 95 % of the time halfway, so steering must move most messages
// to the DPU, every message must get its answer, and the printed figures must add up.
describe.skipIf(!shmAddon())('roam demo', () => {
  it('moves the load to the dpu after the host becomes busy, with no errors', async () => {
    const r = await roam(['demo', '--seconds', '4', '--window', '64']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => /^\s+\d+ \|/.test(l));
    expect(rows.length).toBeGreaterThanOrEqual(3);
    const m = /after: (\d+)% host, (\d+)% dpu/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![2])).toBeGreaterThanOrEqual(50);
    expect(r.stdout).toMatch(/^errors: 0;/m);
    expect(r.stdout).toMatch(/shift to dpu \(≥ 80 % of a 10 ms window\) \d+ ms after the host became busy/);
  }, 90_000);

  it('refuses an unknown --load mode with a usage error', async () => {
    const r = await roam(['demo', '--load', 'sometimes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--load must be block or spin/);
  });
});
