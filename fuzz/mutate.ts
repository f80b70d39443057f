/** Mutations of a bundle: byte-level (flips, overwrites, cuts, splices) and of its manifest JSON. */
import { embedManifest, MANIFEST_SECTION } from '../engine/bundle/bundle.ts';
import type { Manifest } from '../engine/bundle/manifest.ts';
import { customSections, parseModule } from '../engine/bundle/wasm-module.ts';
import type { Prng } from './lib.ts';

const WEIRD: unknown[] = [null, true, -1, 0, 1e308, 2 ** 53, 4294967296, '', 'x'.repeat(5000), '../../etc/passwd', '\u0000', [], {}, [1, 2], { a: 1 }, 65536, -0.5, 'regions', '__proto__'];

export function mutateBytes(rng: Prng, b: Uint8Array): Uint8Array {
  const out = Buffer.from(b);
  switch (rng.int(7)) {
    case 0: // bit flips
      for (let n = 1 + rng.int(8); n > 0; n--) out[rng.int(out.length)]! ^= 1 << rng.int(8);
      return out;
    case 1: // overwrite bytes with interesting values
      for (let n = 1 + rng.int(4); n > 0; n--) out[rng.int(out.length)] = rng.pick([0, 0x7f, 0x80, 0xff, 0x01, rng.u32() & 0xff]);
      return out;
    case 2: // truncate
      return out.subarray(0, rng.int(out.length));
    case 3: { // insert random bytes
      const at = rng.int(out.length);
      return Buffer.concat([out.subarray(0, at), rng.bytes(1 + rng.int(16)), out.subarray(at)]);
    }
    case 4: { // delete a range
      const at = rng.int(out.length);
      return Buffer.concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + rng.int(64)))]);
    }
    case 5: { // duplicate a range
      const at = rng.int(out.length);
      const len = 1 + rng.int(256);
      return Buffer.concat([out.subarray(0, at + len), out.subarray(at, at + len), out.subarray(at + len)]);
    }
    default: { // a LEB128 length made huge or zero
      const at = 8 + rng.int(Math.max(1, out.length - 8));
      out[at] = rng.chance(0.5) ? 0 : 0xff;
      if (at + 1 < out.length) out[at + 1] = rng.chance(0.5) ? 0xff : 0x0f;
      return out;
    }
  }
}

/** A core bundle with its manifest JSON changed: a field set to a weird value, removed, or duplicated deep. */
export function mutateManifest(rng: Prng, b: Uint8Array): Uint8Array | null {
  let module;
  try {
    module = parseModule(b);
  } catch {
    return null;
  }
  const sec = customSections(module, MANIFEST_SECTION)[0];
  if (!sec) return null;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(Buffer.from(sec).toString('utf8')) as Record<string, unknown>;
  } catch {
    return null; // an earlier byte mutation broke the JSON: leave it so
  }
  for (let n = 1 + rng.int(3); n > 0; n--) poke(rng, raw, 0);
  return embedManifest(module.bytes, raw as unknown as Manifest);
}

function poke(rng: Prng, o: unknown, depth: number): void {
  if (typeof o !== 'object' || o === null) return;
  const keys = Object.keys(o);
  const extra = ['name', 'version', 'handlers', 'functions', 'regions', 'capabilities', 'limits', 'tenant', 'gpu', 'chains', 'env', 'type', 'export', 'size', 'access', 'memoryPages', 'fuel'];
  const k = rng.chance(0.3) || keys.length === 0 ? rng.pick(extra) : rng.pick(keys);
  const rec = o as Record<string, unknown>;
  if (depth < 3 && typeof rec[k] === 'object' && rec[k] !== null && rng.chance(0.6)) return poke(rng, rec[k], depth + 1);
  if (rng.chance(0.15)) delete rec[k];
  else rec[k] = rng.pick(WEIRD);
}
