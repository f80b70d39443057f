import { describe, expect, it } from 'vitest';
import { fuzzWire } from '../fuzz/wire.ts';
import { fuzzBundles } from '../fuzz/bundles.ts';
import { fuzzHttp } from '../fuzz/http.ts';

// A short fixed-seed round of each fuzzer (fuzz/README.md); `npm run fuzz` is the long run. A failure's
// input is written to fuzz/failures/ and its message carries the one-line replay command.
describe('fuzzers, short fixed-seed rounds', () => {
  it('wire frames against a real server: no crash, hang or wrong answer in 20,000 frames (seed 1)', async () => {
    const r = await fuzzWire({ seed: 1, inputs: 20_000 });
    expect(r.failures, r.line()).toEqual([]);
    expect(r.inputs).toBeGreaterThanOrEqual(20_000);
  }, 300_000);

  it('mutated bundles through admission and PUT /v1/bundles: refused by name, never a 5xx (seed 1)', async () => {
    // componentize-js projects take 15-40 s each to build: the long run mutates them too.
    const r = await fuzzBundles({ seed: 1, inputs: 200, components: false });
    expect(r.failures, r.line()).toEqual([]);
    expect(r.inputs).toBe(220);
  }, 300_000);

  it('raw HTTP requests: every one answered or closed, none E_INTERNAL, the server keeps serving (seed 1)', async () => {
    const r = await fuzzHttp({ seed: 1, inputs: 400 });
    expect(r.failures, r.line()).toEqual([]);
  }, 300_000);
});
