import { describe, expect, it } from 'vitest';
import { validateManifest } from '../engine/bundle/manifest.ts';
import { CAPABILITIES } from '../engine/capabilities/index.ts';
import { parseSections } from '../engine/verify/verify.ts';

// The gpu section is parsed by the gpu capability at admission (its lifecycle's `section` stage), not by
// the manifest's core schema, which only carries it and declares the capability.
const base = { name: 'g', version: '1.0.0', handlers: [{ name: 'h' }] };
const admitted = (gpu: unknown) => {
  const m = validateManifest({ ...base, gpu });
  parseSections(m, CAPABILITIES);
  return m;
};
const refusal = (gpu: unknown): string => {
  try {
    admitted(gpu);
  } catch (e) {
    return (e as Error).message;
  }
  return 'accepted';
};

describe('gpu quota in the manifest', () => {
  it('accepts a latency target and declares the gpu capability', () => {
    const m = admitted({ share: 0.3, memoryMiB: 64, latencyMs: 12.5 });
    expect(m.sections?.gpu).toEqual({ share: 0.3, memoryMiB: 64, latencyMs: 12.5 });
    expect(m.capabilities).toContain('gpu');
    expect(admitted({ share: 0.3, memoryMiB: 64 }).sections?.gpu).toEqual({ share: 0.3, memoryMiB: 64 });
    // Written under `sections` (as a bundle carries it) or at the top level (as roam.json may): the same.
    expect(validateManifest({ ...base, sections: { gpu: { share: 0.3, memoryMiB: 64 } } }).sections).toEqual(validateManifest({ ...base, gpu: { share: 0.3, memoryMiB: 64 } }).sections);
  });

  it('refuses a latency target that is not a positive number of ms, and unknown quota fields', () => {
    for (const latencyMs of [0, -1, '5', 60_001, Number.NaN]) expect(refusal({ share: 0.3, memoryMiB: 8, latencyMs })).toMatch(/gpu\.latencyMs must be a number of milliseconds in \(0, 60000\]/);
    expect(refusal({ share: 0.3, memoryMiB: 8, latency: 5 })).toMatch(/gpu\.latency is not a gpu quota field \(share, memoryMiB, latencyMs\)/);
    expect(refusal({ share: 1.5, memoryMiB: 8 })).toMatch(/gpu\.share must be a number in \(0, 1\]/);
  });

  it('refuses a section no capability owns, naming it', () => {
    expect(() => parseSections(validateManifest({ ...base, teleport: { speed: 9 } }), CAPABILITIES)).toThrow(/section 'teleport' names capability 'teleport', which this engine does not offer/);
    expect(() => parseSections(validateManifest({ ...base, log: { level: 'x' } }), CAPABILITIES)).toThrow(/capability 'log' takes no configuration/);
  });
});
