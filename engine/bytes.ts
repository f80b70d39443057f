/**
 * Copies `src` into `dst` at `at`. Short copies (kv keys and values) go byte by byte: `set()` has a fixed
 * cost (~30 ns here) larger than a loop of a few dozen bytes over ordinary memory.
 */
export function putBytes(dst: Uint8Array, at: number, src: Uint8Array): void {
  const n = src.length;
  if (n <= 32) for (let i = 0; i < n; i++) dst[at + i] = src[i]!;
  else dst.set(src, at);
}
