import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('roam gpu info', () => {
  it('lists the cpu device as available and gives webgpu a verdict with a reason', () => {
    const out = execFileSync(process.execPath, ['bin/roam.js', 'gpu', 'info', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const info = JSON.parse(out) as { default: string; devices: Array<{ kind: string; available: boolean; detail: string }> };
    expect(info.devices.find((d) => d.kind === 'cpu')).toMatchObject({ available: true, detail: expect.stringMatching(/^cpu executor/) });
    const w = info.devices.find((d) => d.kind === 'webgpu')!;
    expect(w.detail).toMatch(w.available ? /^adapter: / : /no WebGPU adapter|could not be loaded|failed/);
    expect(info.default).toBe(w.available ? 'webgpu' : 'cpu');
  });
});
