/**
 * Embedded windows need every rank to reach every other rank's linear memory. A guest built by
 * `roam cc` defines its own (unshared) memory, so the embedded launcher rewrites the module:
 * the memory definition becomes an import `roam:mem.memory` of a *shared* memory with the same
 * limits (maximum 4 GiB when none is declared: V8 reserves a wasm32 memory whole anyway). The
 * launcher creates one such memory per rank and gives every rank all of them: MPI_Put is then one
 * copy from the origin's memory into the target's, with no help from the target (MPI's unified
 * memory model). Plain loads and stores on a shared memory mean what they meant before; only the
 * import section and the memory section change, so the rest of the module is untouched.
 */
export const MEM_MODULE = 'roam:mem';
const MAX_PAGES = 65536;

export interface SharedModule {
  bytes: Uint8Array;
  initial: number;
  maximum: number;
}

/** The rewritten module, or null when it has no single memory of its own to share (e.g. imports its memory). */
export function shareMemory(wasm: Uint8Array): SharedModule | null {
  if (wasm.length < 8 || wasm[0] !== 0 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d) return null;
  const sections: Array<{ id: number; body: Uint8Array }> = [];
  let p = 8;
  while (p < wasm.length) {
    const id = wasm[p++];
    const [size, n] = uleb(wasm, p);
    p += n;
    sections.push({ id, body: wasm.subarray(p, p + size) });
    p += size;
  }
  const memIdx = sections.findIndex((s) => s.id === 5);
  if (memIdx < 0) return null;
  const mem = sections[memIdx].body;
  const [count, c0] = uleb(mem, 0);
  if (count !== 1) return null;
  const flags = mem[c0];
  if (flags !== 0 && flags !== 1) return null; // already shared, or memory64
  const [initial, i0] = uleb(mem, c0 + 1);
  const maximum = flags === 1 ? uleb(mem, c0 + 1 + i0)[0] : MAX_PAGES;
  const entry = concat([name(MEM_MODULE), name('memory'), Uint8Array.of(2, 3), leb(initial), leb(maximum)]);
  const impIdx = sections.findIndex((s) => s.id === 2);
  if (impIdx >= 0) {
    const body = sections[impIdx].body;
    const [n, k] = uleb(body, 0);
    sections[impIdx] = { id: 2, body: concat([leb(n + 1), body.subarray(k), entry]) };
  } else {
    // The import section goes after the type section (or first).
    const at = sections.findIndex((s) => s.id !== 0 && s.id !== 1);
    sections.splice(at < 0 ? sections.length : at, 0, { id: 2, body: concat([leb(1), entry]) });
  }
  sections.splice(sections.findIndex((s) => s.id === 5), 1);
  const out = [wasm.subarray(0, 8)];
  for (const s of sections) out.push(Uint8Array.of(s.id), leb(s.body.length), s.body);
  return { bytes: concat(out), initial, maximum };
}

function uleb(b: Uint8Array, at: number): [number, number] {
  let v = 0, shift = 0, i = at;
  for (;;) {
    const x = b[i++];
    v += (x & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(x & 0x80)) return [v, i - at];
  }
}
function leb(v: number): Uint8Array {
  const out: number[] = [];
  do {
    let x = v % 128;
    v = Math.floor(v / 128);
    if (v) x |= 0x80;
    out.push(x);
  } while (v);
  return Uint8Array.from(out);
}
function name(s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  return concat([leb(b.length), b]);
}
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
