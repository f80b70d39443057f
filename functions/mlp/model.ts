// The mlp model: shape, deterministic weights and a float64 reference forward pass. Used by
// gen-weights.ts (which writes the shipped weights) and by tests comparing devices against it.

/** Layer widths: input 16, two hidden layers of 32 (relu), 4 output classes (softmax). */
export const LAYERS = [16, 32, 32, 4] as const;

export interface Layer {
  /** in × out, row-major. */
  w: Float32Array;
  b: Float32Array;
}

/** mulberry32: a small PRNG whose output is the same everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** He-initialised weights and small biases from seed 2026. */
export function weights(seed = 2026): Layer[] {
  const r = prng(seed);
  const layers: Layer[] = [];
  for (let l = 0; l + 1 < LAYERS.length; l++) {
    const [fin, fout] = [LAYERS[l]!, LAYERS[l + 1]!];
    const scale = Math.sqrt(2 / fin);
    layers.push({
      w: Float32Array.from({ length: fin * fout }, () => (r() * 2 - 1) * scale * Math.sqrt(3)),
      b: Float32Array.from({ length: fout }, () => (r() * 2 - 1) * 0.1),
    });
  }
  return layers;
}

/** Forward pass in float64 for `rows` inputs of 16; returns rows × 4 class probabilities. */
export function reference(layers: Layer[], x: Float32Array, rows: number): Float64Array {
  let h = Float64Array.from(x);
  layers.forEach((L, l) => {
    const [fin, fout] = [LAYERS[l]!, LAYERS[l + 1]!];
    const o = new Float64Array(rows * fout);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < fout; j++) {
        let s = L.b[j]!;
        for (let p = 0; p < fin; p++) s += h[i * fin + p]! * L.w[p * fout + j]!;
        o[i * fout + j] = l + 2 < LAYERS.length ? Math.max(0, s) : s;
      }
    }
    h = o;
  });
  const k = LAYERS[LAYERS.length - 1]!;
  for (let i = 0; i < rows; i++) {
    const row = h.subarray(i * k, (i + 1) * k);
    const mx = Math.max(...row);
    let s = 0;
    for (let j = 0; j < k; j++) s += (row[j] = Math.exp(row[j]! - mx));
    for (let j = 0; j < k; j++) row[j]! /= s;
  }
  return h;
}

/** Deterministic sample inputs for tests and the benchmark. */
export function samples(rows: number, seed = 7): Float32Array {
  const r = prng(seed);
  return Float32Array.from({ length: rows * LAYERS[0] }, () => r() * 2 - 1);
}
