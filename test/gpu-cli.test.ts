import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

interface Info { default: string; reason: string; devices: Array<{ kind: string; available: boolean; detail: string; adapter?: any }> }

describe('roam gpu info', () => {
  it('lists the cpu device as available and gives webgpu a verdict with a reason', () => {
    const out = execFileSync(process.execPath, ['bin/roam.js', 'gpu', 'info', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const info = JSON.parse(out) as Info;
    expect(info.devices.find((d) => d.kind === 'cpu')).toMatchObject({ available: true, detail: expect.stringMatching(/^cpu executor/) });
    const w = info.devices.find((d) => d.kind === 'webgpu')!;
    expect(w.detail).toMatch(w.available ? /^adapter: / : /no WebGPU adapter|could not be loaded|failed/);
    expect(info.default).toBe(w.available && !w.adapter.software ? 'webgpu' : 'cpu');
    expect(info.reason.length).toBeGreaterThan(5);
  });

  it('tells a software renderer from a GPU and picks the cpu executor over it, unless ROAM_GPU_DEVICE says webgpu', () => {
    const run = (env: Record<string, string>) => JSON.parse(execFileSync(process.execPath, ['bin/roam.js', 'gpu', 'info', '--json'], { encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })) as Info;
    const auto = run({ ROAM_GPU_DEVICE: '' });
    const w = auto.devices.find((d) => d.kind === 'webgpu')!;
    if (w.available && w.adapter.software) {
      expect(w.detail).toMatch(/\(software renderer: /);
      expect(auto).toMatchObject({ default: 'cpu', reason: expect.stringMatching(/software renderer/) });
    } else if (w.available) {
      expect(auto).toMatchObject({ default: 'webgpu', reason: expect.stringMatching(/^a hardware adapter/) });
    }
    expect(run({ ROAM_GPU_DEVICE: 'webgpu' })).toMatchObject({ default: 'webgpu', reason: expect.stringMatching(/^ROAM_GPU_DEVICE=webgpu/) });
    expect(run({ ROAM_GPU_DEVICE: 'cpu' })).toMatchObject({ default: 'cpu', reason: 'ROAM_GPU_DEVICE=cpu' });
  });

  it('keeps Dawn\'s stderr off the terminal unless --verbose', () => {
    const quiet = spawnSync(process.execPath, ['bin/roam.js', 'gpu', 'info'], { encoding: 'utf8', env: { ...process.env, ROAM_GPU_DEBUG: '' } });
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toMatch(/^default: (cpu|webgpu)/m);
    const verbose = spawnSync(process.execPath, ['bin/roam.js', 'gpu', 'info', '--verbose'], { encoding: 'utf8' });
    expect(verbose.status).toBe(0);
    expect(verbose.stdout).toMatch(/^dawn: /m);
  });
});
