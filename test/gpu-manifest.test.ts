import { describe, expect, it } from 'vitest';
import { validateManifest } from '../engine/bundle/manifest.ts';

const base = { name: 'g', version: '1.0.0', handlers: [{ name: 'h' }] };
const refusal = (gpu: unknown): string => {
  try {
    validateManifest({ ...base, gpu });
  } catch (e) {
    return (e as Error).message;
  }
  return 'accepted';
};

describe('gpu quota in the manifest', () => {
  it('accepts a latency target and declares the gpu capability', () => {
    const m = validateManifest({ ...base, gpu: { share: 0.3, memoryMiB: 64, latencyMs: 12.5 } });
    expect(m.gpu).toEqual({ share: 0.3, memoryMiB: 64, latencyMs: 12.5 });
    expect(m.capabilities).toContain('gpu');
    expect(validateManifest({ ...base, gpu: { share: 0.3, memoryMiB: 64 } }).gpu).toEqual({ share: 0.3, memoryMiB: 64 });
  });

  it('refuses a latency target that is not a positive number of ms, and unknown quota fields', () => {
    for (const latencyMs of [0, -1, '5', 60_001, Number.NaN]) expect(refusal({ share: 0.3, memoryMiB: 8, latencyMs })).toMatch(/gpu\.latencyMs must be a number of milliseconds in \(0, 60000\]/);
    expect(refusal({ share: 0.3, memoryMiB: 8, latency: 5 })).toMatch(/gpu\.latency is not a gpu quota field \(share, memoryMiB, latencyMs\)/);
    expect(refusal({ share: 1.5, memoryMiB: 8 })).toMatch(/gpu\.share must be a number in \(0, 1\]/);
  });
});
